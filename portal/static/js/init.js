// InnoMatch page start-up. Loaded as a classic script at the top of <body> so the
// classes are set before the page is painted (no flash of the no-JavaScript layout).
// GOV.UK Frontend is an ES module: it is imported here and initialised once the
// document has been parsed. The module's URL comes from data-govuk-frontend.
(function () {
  'use strict'
  var body = document.body
  var supported = 'noModule' in HTMLScriptElement.prototype
  body.className += ' js-enabled' + (supported ? ' govuk-frontend-supported' : '')

  // A file over the documents' size limit is refused as soon as it is chosen: sent, it would
  // be refused by the server before the form around it could be read, and what was typed
  // there would be lost. The limit and the messages come from the input (data-max-bytes,
  // data-too-large, data-not-attached); the server checks again. The form is not sent
  // without the file unnoticed: the first try to send it says the file is not attached
  // and stops; sending again sends the form without it.
  document.addEventListener('change', function (event) {
    var input = event.target
    if (!input || input.type !== 'file' || !input.hasAttribute('data-max-bytes')) return
    var max = Number(input.getAttribute('data-max-bytes'))
    var file = input.files && input.files[0]
    var id = input.id + '-too-large'
    var note = document.getElementById(id)
    if (file && max && file.size > max) {
      input.value = ''
      if (!note) {
        note = document.createElement('p')
        note.id = id
        note.className = 'govuk-error-message'
        note.setAttribute('role', 'alert')
        input.parentNode.insertBefore(note, input)
      }
      note.textContent = input.getAttribute('data-too-large')
      note.removeAttribute('data-told')
    } else if (note) {
      note.parentNode.removeChild(note)
    }
  })

  // Typing is activity: while a form is being filled in (a pitch can take longer than the
  // session's idle limit), the page tells the server so at most every four minutes, and the
  // session does not end under the person writing. Only when signed in (data-still-here).
  var stillHere = body.getAttribute('data-still-here')
  var toldAt = Date.now()
  if (stillHere && window.fetch) {
    document.addEventListener('input', function (event) {
      if (!event.target || !event.target.form || Date.now() - toldAt < 240000) return
      toldAt = Date.now()
      window.fetch(stillHere, { credentials: 'same-origin', cache: 'no-store' }).catch(function () {})
    })
  }

  document.addEventListener('submit', function (event) {
    var form = event.target
    if (!form || !form.querySelectorAll) return
    var inputs = form.querySelectorAll('input[type=file][data-max-bytes]')
    for (var i = 0; i < inputs.length; i++) {
      var note = document.getElementById(inputs[i].id + '-too-large')
      if (note && !note.hasAttribute('data-told')) {
        event.preventDefault()
        note.textContent = inputs[i].getAttribute('data-not-attached')
        note.setAttribute('data-told', '')
        inputs[i].focus()
        return
      }
    }
  })

  if (!supported) return

  var script = document.currentScript
  var moduleUrl = script && script.getAttribute('data-govuk-frontend')
  if (!moduleUrl) return

  function start () {
    import(moduleUrl).then(function (govuk) {
      govuk.initAll()
    }).catch(function (error) {
      if (window.console) window.console.error('GOV.UK Frontend did not start', error)
    })
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start)
  } else {
    start()
  }
})()
