// Live notifications over the /ws/notifications websocket: the header badge, browser
// notifications, and doorbells that make htmx refresh a fragment at once.
//
// What this script reads from and does to the page (it has no other configuration):
// - #notification-badge-link carries data-socket-url (the websocket path) and data-last-id
//   (the newest notification id the page was rendered with). Without it nothing runs.
// - #notification-badge gets the unread count: its text, aria-label and `badge-empty` class.
// - A conversation doorbell dispatches `chat:changed` on document.body, with
//   event.detail = {conversationId}, when an element [data-conversation-id="<id>"] is on the
//   page. A live-session doorbell dispatches `session:changed`, with
//   event.detail = {liveSessionId}, when an element [data-live-session-id="<id>"] is on the
//   page. Fragments listen with hx-trigger="every 2s, chat:changed from:body".
// - #notify-enable asks for permission to show browser notifications, only when clicked;
//   #notify-denied explains how to allow them after a denial. Both start hidden.
// Open tabs elect one leader (Web Locks) that shows browser notifications, and tell each
// other over a BroadcastChannel which ones were shown, so each is shown once.
"use strict";

(() => {
  const link = document.getElementById("notification-badge-link");
  if (!link || !("WebSocket" in window)) {
    return;
  }
  const badge = document.getElementById("notification-badge");
  const enableButton = document.getElementById("notify-enable");
  const deniedNote = document.getElementById("notify-denied");

  const FIRST_DELAY_MS = 500;
  const MAX_DELAY_MS = 30000;
  // After a long disconnection, only the newest few missed notifications pop up.
  const MAX_REPLAYED_POPUPS = 3;
  const channel =
    "BroadcastChannel" in window ? new BroadcastChannel("openmentor-notifications") : null;
  const shownIds = new Set();
  let lastId = Number(link.dataset.lastId) || 0;
  let attempt = 0;
  let replayed = [];
  let replaying = false;
  // Without Web Locks every tab shows; the shared tag still lets the system show one.
  let isLeader = !(navigator.locks && navigator.locks.request);

  if (!isLeader) {
    // The lock is held until the tab closes; then the next tab in the queue leads.
    navigator.locks.request("openmentor-notification-leader", () => {
      isLeader = true;
      return new Promise(() => {});
    });
  }
  if (channel) {
    channel.addEventListener("message", (event) => {
      if (event.data && event.data.shown) {
        shownIds.add(event.data.shown);
      }
    });
  }

  function updateBadge(unread) {
    if (!badge) {
      return;
    }
    badge.textContent = String(unread);
    badge.setAttribute("aria-label", `${unread} unread`);
    badge.classList.toggle("badge-empty", unread === 0);
  }

  function showBrowserNotification(message) {
    if (!isLeader || shownIds.has(message.id)) {
      return;
    }
    if (!("Notification" in window) || Notification.permission !== "granted") {
      return;
    }
    shownIds.add(message.id);
    if (channel) {
      channel.postMessage({ shown: message.id });
    }
    const notification = new Notification("OpenMentor", {
      body: message.text,
      tag: `openmentor-${message.id}`,
    });
    notification.addEventListener("click", () => {
      window.focus();
      if (message.url) {
        window.location.assign(message.url);
      }
      notification.close();
    });
  }

  function ringDoorbell(eventName, selector, detail) {
    if (document.querySelector(selector)) {
      document.body.dispatchEvent(new CustomEvent(eventName, { detail }));
    }
  }

  function handleMessage(message) {
    if (message.type === "notification") {
      lastId = Math.max(lastId, message.id);
      updateBadge(message.unread);
      if (replaying) {
        replayed.push(message);
      } else {
        showBrowserNotification(message);
      }
    } else if (message.type === "ready") {
      attempt = 0;
      updateBadge(message.unread);
      replaying = false;
      replayed.slice(-MAX_REPLAYED_POPUPS).forEach(showBrowserNotification);
      replayed = [];
    } else if (message.type === "conversation") {
      ringDoorbell("chat:changed", `[data-conversation-id="${message.id}"]`, {
        conversationId: message.id,
      });
    } else if (message.type === "live_session") {
      ringDoorbell("session:changed", `[data-live-session-id="${message.id}"]`, {
        liveSessionId: message.id,
      });
    }
  }

  function connect() {
    // Flask builds websocket URLs as absolute ws:// ones; keep the path, use the page's host.
    const path = new URL(link.dataset.socketUrl, window.location.href).pathname;
    const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    const url = `${scheme}//${window.location.host}${path}?after=${lastId}`;
    const socket = new WebSocket(url);
    // Messages before "ready" replay what was missed while disconnected.
    replaying = true;
    replayed = [];
    socket.addEventListener("message", (event) => {
      let message;
      try {
        message = JSON.parse(event.data);
      } catch (error) {
        console.warn("Ignored a notification message that is not JSON:", error);
        return;
      }
      handleMessage(message);
    });
    socket.addEventListener("close", () => {
      // Exponential back-off with jitter, so a restarted server is not hit by every tab at once.
      const delay = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** attempt);
      attempt += 1;
      window.setTimeout(connect, delay * (0.5 + Math.random()));
    });
  }

  function showPermissionState() {
    if (!enableButton || !deniedNote) {
      return;
    }
    const permission = "Notification" in window ? Notification.permission : "unsupported";
    enableButton.hidden = permission !== "default";
    deniedNote.hidden = permission !== "denied";
  }

  if (enableButton) {
    enableButton.addEventListener("click", () => {
      Notification.requestPermission().then(showPermissionState);
    });
  }
  showPermissionState();
  connect();
})();
