// Live updates: one WebSocket to /ws/v1/events per open page. Each event {"type": "post.created", "data": {...}}
// becomes a DOM event "live-post-created" on <body> (detail = data), which pages use as htmx triggers, e.g.
// hx-trigger="live-comment-created[detail.post_id==12] from:body". Without JavaScript nothing is lost: pages are
// complete on their own, this only spares a reload.
(function () {
  "use strict";
  var script = document.currentScript || document.querySelector("script[data-ws-url]");
  if (!script || !window.WebSocket) return;
  var PING_MS = 25000, FIRST_RETRY_MS = 1000, MAX_RETRY_MS = 30000, STABLE_MS = 10000;
  var FINAL_CODES = { 4401: true, 4403: true }; // not authenticated, bad origin: retrying cannot help
  var socket = null, pinger = null, retryMs = FIRST_RETRY_MS, openedAt = null;

  // data-ws-url: "wss://host/path" as is; ":8001/path" the page's host on another port; "/path" the page's host.
  function resolve(url) {
    var scheme = location.protocol === "https:" ? "wss:" : "ws:";
    if (/^wss?:\/\//.test(url)) return url;
    if (/^https?:\/\//.test(url)) return url.replace(/^http/, "ws");
    if (url.charAt(0) === ":") return scheme + "//" + location.hostname + url;
    return scheme + "//" + location.host + url;
  }

  function dispatch(message) {
    if (!message || typeof message.type !== "string" || message.type === "pong") return;
    var name = "live-" + message.type.replace(/\./g, "-");
    document.body.dispatchEvent(new CustomEvent(name, { detail: message.data || {} }));
  }

  function connect() {
    socket = new WebSocket(resolve(script.getAttribute("data-ws-url")));
    socket.onopen = function () {
      openedAt = Date.now();
      document.documentElement.setAttribute("data-live", "open"); // for styles and tests: updates are flowing
      pinger = setInterval(function () {
        if (socket.readyState === WebSocket.OPEN) socket.send('{"type":"ping"}');
      }, PING_MS);
    };
    socket.onmessage = function (event) {
      try { dispatch(JSON.parse(event.data)); } catch (e) { /* not ours to break the page over */ }
    };
    socket.onclose = function (event) {
      clearInterval(pinger);
      document.documentElement.setAttribute("data-live", "closed");
      if (FINAL_CODES[event.code]) return;
      // The backoff starts again only after a connection that lasted: a server accepting then closing at once
      // (overloaded, failing) must not be hit once a second by every page.
      if (openedAt !== null && Date.now() - openedAt >= STABLE_MS) retryMs = FIRST_RETRY_MS;
      openedAt = null;
      // Capped exponential backoff with jitter, so a restarted server is not hit by every page at once.
      setTimeout(connect, retryMs / 2 + Math.random() * retryMs / 2);
      retryMs = Math.min(retryMs * 2, MAX_RETRY_MS);
    };
  }

  // The feed's "N new posts: show them" notice (feed/feed.html, #live-new-posts): counts the posts this page
  // would list (same category and scope), in a polite live region that is on the page from the start (so screen
  // readers announce the change); the link reloads the feed.
  function newPostsNotice() {
    var box = document.getElementById("live-new-posts");
    if (!box) return;
    var count = 0, home = Number(box.getAttribute("data-home"));
    document.body.addEventListener("live-post-created", function (event) {
      var post = event.detail, scope = box.getAttribute("data-scope"), category = box.getAttribute("data-category");
      if (category && post.category !== category) return;
      if (scope === "home" && post.neighbourhood_id !== home) return;
      if (scope === "nearby" && post.neighbourhood_id === home) return;
      count += 1;
      var text = (count === 1 ? box.getAttribute("data-one") : box.getAttribute("data-many")).replace("%(n)s", count);
      var notice = document.createElement("p"), link = document.createElement("a");
      notice.className = "notice";
      var query = new URLSearchParams(location.search);
      query.delete("cursor"); // the first page, where the new posts are
      link.href = location.pathname + (query.toString() ? "?" + query : "");
      link.textContent = box.getAttribute("data-show");
      notice.appendChild(document.createTextNode(text + " "));
      notice.appendChild(link);
      box.replaceChildren(notice);
    });
  }

  function start() { newPostsNotice(); connect(); }
  if (document.readyState !== "loading") start(); else document.addEventListener("DOMContentLoaded", start);
})();
