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
    forgetServerError(input)
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

  // A file chosen again replaces the one the server refused: its message (under the input
  // and in the error summary) was about the old file and would stand beside a new one's.
  function forgetServerError (input) {
    var message = document.getElementById(input.id + '-error')
    if (!message) return
    message.parentNode.removeChild(message)
    input.classList.remove('govuk-file-upload--error')
    input.removeAttribute('aria-invalid')
    var described = (input.getAttribute('aria-describedby') || '').split(' ').filter(function (part) {
      return part && part !== input.id + '-error'
    })
    if (described.length) input.setAttribute('aria-describedby', described.join(' '))
    else input.removeAttribute('aria-describedby')
    var group = input.closest('.govuk-form-group')
    if (group && !group.querySelector('.govuk-error-message')) group.classList.remove('govuk-form-group--error')
    var link = document.querySelector('.govuk-error-summary a[href="#' + input.id + '"]')
    var summary = link && link.closest('.govuk-error-summary')
    if (link) link.closest('li').parentNode.removeChild(link.closest('li'))
    if (summary && !summary.querySelector('.govuk-error-summary__list li')) summary.parentNode.removeChild(summary)
  }

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

  // A step that removes or publishes something asks first (data-confirm on its form): the
  // server does it at once, and there is no undo. Without JavaScript the button acts directly.
  // A form with a required field left empty is not asked about: the server only answers with
  // the field's error (nothing changes), so confirming would be a question for nothing.
  function leftEmpty (form) {
    var fields = form.querySelectorAll ? form.querySelectorAll('[required]') : []
    for (var i = 0; i < fields.length; i++) {
      if (!String(fields[i].value || '').trim()) return true
    }
    return false
  }
  document.addEventListener('submit', function (event) {
    var form = event.target
    var ask = form && form.getAttribute && form.getAttribute('data-confirm')
    if (ask && !leftEmpty(form) && !window.confirm(ask)) event.preventDefault()
  })

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

  // Switching language loads the page again: what was typed, ticked or chosen in the page's
  // forms (sent with errors or not sent yet) is carried to the page in the other language and
  // put back into the same form, so a half-written pitch is not lost. On a page that answers a
  // sent form every filled field is carried (the page it returns to has none of them); on
  // other pages only the fields changed from what the page came with, so a default that
  // depends on the language is the new page's own. Passwords, files and hidden fields,
  // one-time codes and fields marked data-no-carry are never kept; the copy lives in this
  // tab's sessionStorage only until the next page is read. The server sends the switch back
  // to the page the form was on.
  var CARRY = 'innomatch-carry'
  var SKIPPED = { password: 1, file: 1, hidden: 1, submit: 1, button: 1, reset: 1, image: 1 }

  // A form's action and method read from its attributes: a field named "action" (the challenge
  // form's "Check for similar challenges" button) hides the form's own action property.
  function actionOf (form) {
    return new URL(form.getAttribute('action') || '', document.baseURI).href
  }

  // Which form it is: its address, and the move it makes when several forms share an address
  // (a trial's moves all post to /move and differ by a hidden "action").
  function keyOf (form) {
    var move = form.querySelector('input[type=hidden][name=action]')
    return actionOf(form) + '#' + (move ? move.value : '')
  }

  function kept (el) {
    var type = (el.type || '').toLowerCase()
    return el.name && !el.disabled && !SKIPPED[type] && el.name !== 'csrf_token' &&
      (el.getAttribute('autocomplete') || '') !== 'one-time-code' && !el.closest('[data-no-carry]')
  }

  // The form's fields, tag by tag: inputs, selects and text areas (a fieldset may share a
  // group's name).
  function isField (el) {
    return el.tagName === 'INPUT' || el.tagName === 'SELECT' || el.tagName === 'TEXTAREA'
  }

  function changed (el) {
    if (el.tagName === 'SELECT') {
      var options = Array.prototype.slice.call(el.options)
      if (!el.multiple) { // with no option marked selected, a list box starts on its first
        var start = options.findIndex(function (o) { return o.defaultSelected })
        return el.selectedIndex !== (start < 0 ? 0 : start)
      }
      return options.some(function (o) { return o.selected !== o.defaultSelected })
    }
    return el.value !== el.defaultValue
  }

  function typed (form, all) {
    var fields = {}
    var groups = {}
    var any = false
    for (var i = 0; i < form.elements.length; i++) {
      var el = form.elements[i]
      var type = (el.type || '').toLowerCase()
      if (!isField(el) || !kept(el)) continue
      if (type === 'checkbox' || type === 'radio') {
        var group = groups[el.name] = groups[el.name] || { checked: [], moved: false }
        if (el.checked) group.checked.push(el.value)
        if (el.checked !== el.defaultChecked) group.moved = true
      } else if ((all ? el.value && el.value.trim() : changed(el))) {
        fields[el.name] = [el.value]
        any = true
      }
    }
    Object.keys(groups).forEach(function (name) {
      var group = groups[name]
      if (all ? group.checked.length : group.moved) { fields[name] = group.checked; any = true }
    })
    return any ? fields : null
  }

  // The page a form was sent from: a page that answers a sent form (data-sent-form) lives at
  // the form's address, which may not open again; the switch returns to the page remembered.
  var PAGE = 'innomatch-page'
  function rememberPage () {
    try {
      if (!body.hasAttribute('data-sent-form')) {
        window.sessionStorage.setItem(PAGE, window.location.pathname + window.location.search)
      }
    } catch (e) {}
  }
  rememberPage()
  window.addEventListener('pageshow', rememberPage) // also a page shown again from the history

  document.addEventListener('submit', function (event) {
    var lang = event.target
    if (!lang || !lang.classList || !lang.classList.contains('im-lang')) return
    try {
      var page = window.sessionStorage.getItem(PAGE)
      if (body.hasAttribute('data-sent-form') && page && page.charAt(0) === '/') lang.elements.next.value = page
    } catch (e) {}
    var saved = []
    var forms = document.querySelectorAll('form')
    // On a page answering a sent form, the sent one is the form showing its errors (every
    // form, if none does): all its filled fields go; the other forms carry only changes.
    var sent = body.hasAttribute('data-sent-form')
    var withErrors = Array.prototype.filter.call(forms, function (f) {
      return f.querySelector('.govuk-error-message, [aria-invalid=true]')
    })
    for (var i = 0; i < forms.length; i++) {
      if (forms[i] === lang || (forms[i].getAttribute('method') || '').toLowerCase() !== 'post') continue
      var fields = typed(forms[i], sent && (!withErrors.length || withErrors.indexOf(forms[i]) >= 0))
      if (fields) saved.push({ key: keyOf(forms[i]), fields: fields })
    }
    try {
      if (saved.length) {
        window.sessionStorage.setItem(CARRY, JSON.stringify({ path: lang.elements.next.value, forms: saved }))
      }
    } catch (e) {}
  })

  function putBack (form, fields) {
    Object.keys(fields).forEach(function (name) {
      var values = fields[name]
      var found = form.elements.namedItem(name)
      if (!found) return
      var els = (found.length !== undefined && !found.tagName ? Array.prototype.slice.call(found) : [found])
        .filter(function (el) { return isField(el) && kept(el) })
      if (!els.length) return
      var type = (els[0].type || '').toLowerCase()
      if (type === 'checkbox' || type === 'radio') {
        els.forEach(function (el) {
          var on = values.indexOf(el.value) >= 0
          if (el.checked !== on) {
            el.checked = on
            el.dispatchEvent(new Event('change', { bubbles: true })) // conditional reveals follow
          }
        })
      } else if (els.length === 1) {
        els[0].value = values[0]
        els[0].dispatchEvent(new Event('input', { bubbles: true }))
      }
    })
  }

  var carry = null
  try {
    carry = JSON.parse(window.sessionStorage.getItem(CARRY) || 'null')
    window.sessionStorage.removeItem(CARRY)
  } catch (e) {}
  if (carry && carry.path === window.location.pathname + window.location.search) {
    var restore = function () {
      var forms = Array.prototype.slice.call(document.querySelectorAll('form'))
      carry.forms.forEach(function (saved) {
        for (var i = 0; i < forms.length; i++) {
          if (keyOf(forms[i]) === saved.key) {
            putBack(forms[i], saved.fields)
            forms.splice(i, 1) // each form takes one saved copy
            return
          }
        }
      })
    }
    if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', restore)
    else restore()
  }

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
