// foodtrace console: send the session's CSRF token with every htmx request (the token is in <body hx-headers>)
document.addEventListener("htmx:responseError", function (e) {
  var box = document.getElementById("htmx-error");
  if (box) { box.textContent = (e.detail.xhr.status || "") + " " + (e.detail.xhr.statusText || ""); box.hidden = false; }
});
