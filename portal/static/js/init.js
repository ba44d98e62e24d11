// InnoMatch page start-up. Loaded as a classic script at the top of <body> so the
// classes are set before the page is painted (no flash of the no-JavaScript layout).
// GOV.UK Frontend is an ES module: it is imported here and initialised once the
// document has been parsed. The module's URL comes from data-govuk-frontend.
(function () {
  'use strict'
  var body = document.body
  var supported = 'noModule' in HTMLScriptElement.prototype
  body.className += ' js-enabled' + (supported ? ' govuk-frontend-supported' : '')
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
