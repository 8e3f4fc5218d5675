/* kefu console helpers: JSON calls with the CSRF header, a toast, WebSocket with retry. */
(function () {
  "use strict";
  function csrf() {
    var m = document.querySelector('meta[name="csrf-token"]');
    return m ? m.content : "";
  }
  function toast(text) {
    var t = document.getElementById("toast");
    if (!t) return;
    t.textContent = text;
    t.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(function () { t.hidden = true; }, 4000);
  }
  async function api(method, url, body) {
    var opts = { method: method, headers: { "X-CSRF-Token": csrf() }, credentials: "same-origin" };
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    var res = await fetch(url, opts);
    var data = null;
    var text = res.status === 204 ? "" : await res.text();
    if (text && (res.headers.get("content-type") || "").indexOf("json") >= 0) data = JSON.parse(text);
    if (!res.ok) {
      var err = new Error((data && data.message) || res.statusText);
      err.status = res.status;
      err.data = data;
      throw err;
    }
    return data;
  }
  function socket(path, onMessage, onOpen) {
    var proto = location.protocol === "https:" ? "wss://" : "ws://";
    var ws;
    var delay = 500;
    function connect() {
      ws = new WebSocket(proto + location.host + path);
      ws.onopen = function () { delay = 500; if (onOpen) onOpen(ws); };
      ws.onmessage = function (ev) { onMessage(JSON.parse(ev.data), ws); };
      ws.onclose = function (ev) {
        if (ev.code >= 4400 && ev.code < 4500) return;  // refused: do not retry
        setTimeout(connect, delay);
        delay = Math.min(delay * 2, 10000);
      };
    }
    connect();
    return { send: function (obj) { ws.send(JSON.stringify(obj)); }, get raw() { return ws; } };
  }
  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  window.kefu = { api: api, csrf: csrf, toast: toast, socket: socket, esc: esc };
})();
