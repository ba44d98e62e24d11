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
  // there would be lost. The limit and the message come from the input (data-max-bytes,
  // data-too-large); the server checks again.
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
    } else if (note) {
      note.parentNode.removeChild(note)
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
