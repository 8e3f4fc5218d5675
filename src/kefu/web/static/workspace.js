/* The agent workspace: seat state, screen pop, call controls, tickets, KB, chat. */
(function () {
  "use strict";
  var C = window.WS_CONFIG, T = C.text, api = kefu.api, esc = kefu.esc, $ = function (id) { return document.getElementById(id); };
  var st = { state: "logged_out", since: 0, offset: 0, callId: "", customerId: null, caller: "", muted: false, types: {} };

  function localTime(iso) {
    var d = new Date(iso);
    return d.toLocaleString("zh-CN", { timeZone: "Asia/Shanghai", hour12: false, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" });
  }
  function now() { return Date.now() / 1000 + st.offset; }
  function fail(e) { kefu.toast(e.message || String(e)); }

  // -- seat state ---------------------------------------------------------------------
  function showState(state, since, serverNow) {
    st.state = state;
    if (since !== undefined) st.since = since;
    if (serverNow !== undefined) st.offset = serverNow - Date.now() / 1000;
    var b = $("state-badge");
    b.textContent = C.stateNames[state] || state;
    b.className = "state-badge state-" + state;
    $("btn-mute").disabled = !(state === "on_call" || state === "on_hold");
    $("acw-countdown").hidden = state !== "after_call_work";
    if (state !== "on_hold") $("hold-alert").hidden = true;
    if (state === "ringing" || state === "on_call" || state === "on_hold") {
      $("call-status").textContent = C.stateNames[state];
      $("call-status").className = "state-badge state-" + state;
    }
  }
  function tick() {
    var s = Math.max(0, Math.floor(now() - st.since));
    $("state-timer").textContent = String(Math.floor(s / 60)).padStart(2, "0") + ":" + String(s % 60).padStart(2, "0");
    if (st.state === "after_call_work") $("acw-left").textContent = Math.max(0, Math.ceil(C.acwSeconds - (now() - st.since)));
  }
  setInterval(tick, 500);

  function seat(path, body) {
    return api("POST", path, body).then(function (v) { if (v && v.state) showState(v.state, v.since, v.now); }).catch(fail);
  }
  $("btn-idle").onclick = function () { seat("/api/agent/state", { state: "idle" }); };
  $("btn-busy").onclick = function () { seat("/api/agent/state", { state: "busy", reason: $("busy-reason").value }); };
  $("btn-break").onclick = function () { seat("/api/agent/state", { state: "break" }); };
  $("btn-seat-login").onclick = function () { seat("/api/agent/login"); };
  $("btn-seat-logout").onclick = function () { seat("/api/agent/logout"); };
  $("btn-mute").onclick = function () {
    st.muted = !st.muted;
    api("POST", "/api/agent/mute", { muted: st.muted }).catch(fail);
    $("btn-mute").textContent = st.muted ? "取消静音" : "静音";
  };
  document.querySelectorAll(".group-btn").forEach(function (b) {
    b.onclick = function () {
      var signed = b.dataset.signed === "true";
      api("POST", "/api/agent/groups/" + encodeURIComponent(b.dataset.group) + "/" + (signed ? "sign-out" : "sign-in"))
        .then(function () { b.dataset.signed = signed ? "false" : "true"; b.textContent = signed ? "签入" : "签出"; }).catch(fail);
    };
  });

  // -- calls and screen pop ---------------------------------------------------------
  function showCall(callId, caller, region) {
    st.callId = callId;
    $("no-call").hidden = true;
    $("call-info").hidden = false;
    $("caller-number").textContent = caller;
    $("caller-region").textContent = region || "未知";
    api("GET", "/api/workspace/pop/" + encodeURIComponent(callId)).then(showPop).catch(fail);
  }
  function showPop(pop) {
    var c = pop.customer, f = $("customer-form");
    st.customerId = c.id;
    st.caller = pop.caller;
    $("caller-region").textContent = pop.region || "未知";
    $("customer-panel").hidden = false;
    $("customer-new").hidden = !pop.is_new;
    f.id.value = c.id; f.name.value = c.name || ""; f.phone.value = c.phone || "";
    f.id_card_no.value = c.id_card_no || ""; f.address.value = c.address || ""; f.is_member.checked = !!c.is_member;
    var rows = pop.history.map(function (h) {
      var summary = h.kind === "call" ? (C.dispositions[h.summary] || h.summary) : h.summary;
      return "<tr><td>" + esc(localTime(h.at)) + "</td><td>" + esc(C.historyNames[h.kind] || h.kind) + "</td><td>" + esc(summary) + "</td></tr>";
    });
    $("history").innerHTML = rows.join("") || "<tr><td class='muted'>" + T.none + "</td></tr>";
  }
  function endCall() {
    $("call-info").hidden = true;
    $("no-call").hidden = false;
    $("no-call").textContent = T.ended;
  }
  $("btn-answer").onclick = function () { api("POST", "/api/agent/answer", { call_id: st.callId }).catch(fail); };
  $("btn-hangup").onclick = function () { api("POST", "/api/agent/hangup").catch(fail); };
  $("btn-hold").onclick = function () { api("POST", "/api/agent/hold").catch(fail); };
  $("btn-resume").onclick = function () { api("POST", "/api/agent/resume").catch(fail); };
  $("btn-transfer").onclick = function () {
    api("POST", "/api/agent/transfer", { kind: $("transfer-kind").value, target: $("transfer-target").value }).catch(fail);
  };
  $("btn-dial").onclick = function () {
    var number = $("dial-number").value.trim();
    if (!number) return;
    api("POST", "/api/agent/dial", { number: number })
      .then(function (r) { kefu.toast(T.dialing + r.number); }).catch(fail);
  };
    $("btn-conference").onclick = function () { api("POST", "/api/agent/conference", { party: $("conf-party").value }).catch(fail); };
  $("btn-blacklist").onclick = function () {
    var reason = prompt(T.blacklistReason);
    if (!reason) return;
    api("POST", "/api/blacklist/requests", { number: st.caller, reason: reason, call_id: st.callId })
      .then(function () { kefu.toast(T.blacklistSent); }).catch(fail);
  };
  $("customer-form").onsubmit = function (ev) {
    ev.preventDefault();
    var f = ev.target;
    api("PUT", "/api/customers/" + f.id.value, {
      name: f.name.value, phone: f.phone.value, id_card_no: f.id_card_no.value, address: f.address.value, is_member: f.is_member.checked
    }).then(function () { $("customer-msg").textContent = T.saved; $("customer-new").hidden = true; })
      .catch(function (e) { $("customer-msg").textContent = e.message; });
  };

  function loadWaiting() {
    api("GET", "/api/queues/waiting").then(function (list) {
      $("waiting").innerHTML = list.map(function (w) {
        var mine = w.ringing.indexOf(C.agentNo) >= 0;
        var pick = w.ringing.length && !mine ? " <button class='pickup' data-call='" + esc(w.call_id) + "'>" + T.pickup + "</button>" : "";
        return "<tr><td>" + esc(w.caller) + "</td><td>" + esc(w.region) + "</td><td>" + esc(w.queue) + "</td><td>" + Math.round(w.waited) + "s" + pick + "</td></tr>";
      }).join("") || "<tr><td class='muted'>" + T.noWaiting + "</td></tr>";
      document.querySelectorAll(".pickup").forEach(function (b) {
        b.onclick = function () { api("POST", "/api/agent/pickup", { call_id: b.dataset.call }).catch(fail); };
      });
    }).catch(function () {});
  }
  function loadMissed() {
    api("GET", "/api/agent/missed").then(function (list) {
      $("missed").innerHTML = list.slice(0, 10).map(function (m) {
        return "<tr><td>" + esc(m.caller) + "</td><td>" + esc(m.region) + "</td><td>" + esc(localTime(m.rang_at)) + "</td></tr>";
      }).join("") || "<tr><td class='muted'>" + T.none + "</td></tr>";
    }).catch(function () {});
  }
  function loadCallbacks() {  // SLA-05: due ones highlighted, missed promises marked
    api("GET", "/api/agent/callbacks").then(function (list) {
      $("callbacks").innerHTML = list.slice(0, 10).map(function (c) {
        var mark = c.missed ? "<span class='state-badge state-busy'>" + T.callbackMissed + "</span> " : (c.due ? "<b>" + T.callbackDue + "</b> " : "");
        return "<tr><td>" + mark + esc(localTime(c.at)) + "</td><td>" + esc(c.number) + "</td><td>" + esc(c.note) +
          "</td><td><button class='small' data-cb-done='" + c.id + "'>" + T.callbackDone + "</button></td></tr>";
      }).join("") || "<tr><td class='muted'>" + T.none + "</td></tr>";
    }).catch(function () {});
  }
  $("callbacks").addEventListener("click", function (ev) {
    var id = ev.target && ev.target.getAttribute && ev.target.getAttribute("data-cb-done");
    if (!id) return;
    api("POST", "/api/agent/callbacks/" + id + "/done", { result: "" }).then(loadCallbacks).catch(fail);
  });
  $("btn-callback").onclick = function () {
    var at = $("callback-at").value;
    if (!at || !st.customerId) return;
    // the console works in Beijing time
    api("POST", "/api/customers/" + st.customerId + "/callbacks", { at: at + ":00+08:00", note: $("callback-note").value })
      .then(function () { kefu.toast(T.callbackSet); loadCallbacks(); }).catch(fail);
  };
  $("refresh-waiting").onclick = loadWaiting;
  setInterval(loadWaiting, 5000);

  kefu.socket("/ws/agent", function (ev) {
    if (ev.type === "hello") {
      showState(ev.state, ev.since, ev.now);
    } else if (ev.type === "state") {
      showState(ev.state, ev.since, ev.now);
      if (ev.state === "after_call_work" || ev.state === "idle") { loadMissed(); loadWaiting(); }
    } else if (ev.type === "offer") {
      showCall(ev.call_id, ev.caller_display || ev.caller, ev.region);
      loadWaiting();
    } else if (ev.type === "connected") {
      $("call-status").textContent = T.answered;
      loadWaiting();
    } else if (ev.type === "call_ended" || ev.type === "offer_withdrawn" || ev.type === "intercepted") {
      if (ev.call_id === st.callId) endCall();
    } else if (ev.type === "dial_ended") {
      kefu.toast(T.dialEnded[ev.outcome] || ev.outcome);
    } else if (ev.type === "hold_alert") {  // SLA-04
      var key = ev.resumed ? "resumed" : ev.level;
      var text = T.holdAlert[key].replace("{m}", String(Math.round(ev.limit_s / 60)));
      $("hold-alert").textContent = text;
      $("hold-alert").hidden = !!ev.resumed;
      kefu.toast(text);
    } else if (ev.type === "callback_due") {  // SLA-05: the promised time has come
      kefu.toast(T.callbackNow.replace("{n}", ev.number).replace("{note}", ev.note || ""));
      loadCallbacks();
    } else if (ev.type === "callback_missed") {
      loadCallbacks();
    } else if (ev.type === "missed") {
      endCall();
      loadMissed();
    }
  });

  // -- tickets ------------------------------------------------------------------------
  function renderFields() {
    var t = st.types[$("ticket-type").value];
    if (!t) return;
    $("ticket-fields").innerHTML = t.fields.map(function (f) {
      var req = f.required ? T.required : "", name = "f_" + f.name, input;
      if (f.type === "textarea") input = "<textarea name='" + name + "' rows='2'></textarea>";
      else if (f.type === "select") input = "<select name='" + name + "'><option value=''></option>" + f.options.map(function (o) { return "<option>" + esc(o) + "</option>"; }).join("") + "</select>";
      else if (f.type === "bool") input = "<input type='checkbox' name='" + name + "' style='width:auto;display:inline'>";
      else {
        var type = { date: "date", datetime: "datetime-local", number: "number" }[f.type] || "text";
        input = "<input type='" + type + "' name='" + name + "'" + (f.type === "number" ? " step='any'" : "") + ">";
      }
      return "<label>" + esc(f.label) + req + " " + input + "</label>";
    }).join("");
  }
  api("GET", "/api/tickets/types").then(function (types) {
    types.forEach(function (t) { st.types[t.code] = t; });
    renderFields();
  }).catch(fail);
  $("ticket-type").onchange = renderFields;
  $("ticket-form").onsubmit = function (ev) {
    ev.preventDefault();
    var f = ev.target, t = st.types[f.type.value], form = {};
    t.fields.forEach(function (fd) {
      var el = f.elements["f_" + fd.name];
      if (!el) return;
      form[fd.name] = fd.type === "bool" ? el.checked : el.value;
    });
    api("POST", "/api/tickets", {
      type: f.type.value, title: f.title.value, body: f.body.value, form: form,
      customer_id: st.customerId, call_id: st.callId || null
    }).then(function (res) {
      $("ticket-msg").textContent = T.ticketSaved + res.ticket.id;
      var extra = [];
      if (res.readback) extra.push(res.readback);
      if (res.ticket.form.quote) {
        var q = res.ticket.form.quote;
        extra.push(T.quote.replace("{f}", q.freight).replace("{i}", q.insurance).replace("{t}", q.total));
      }
      $("ticket-readback").hidden = !extra.length;
      $("ticket-readback").textContent = extra.join(" ");
      f.reset(); renderFields();
    }).catch(function (e) {
      var d = e.data && e.data.details;
      $("ticket-msg").textContent = e.message + (d ? " " + JSON.stringify(d) : "");
    });
  };

  // -- knowledge base -----------------------------------------------------------------
  $("kb-form").onsubmit = function (ev) {
    ev.preventDefault();
    api("GET", "/api/kb/search?q=" + encodeURIComponent($("kb-q").value)).then(function (hits) {
      $("kb-results").innerHTML = hits.map(function (h) {
        var snip = esc(h.snippet);
        h.matched.forEach(function (m) { snip = snip.split(esc(m)).join("<mark>" + esc(m) + "</mark>"); });
        return "<div class='kb-hit'><b>" + esc(h.title) + "</b><div>" + snip + "</div></div>";
      }).join("") || "<p class='muted'>" + T.noResult + "</p>";
    }).catch(fail);
  };

  // -- chat ---------------------------------------------------------------------------
  var chat = { id: null, sock: null };
  function renderMsg(m) {
    var who = { customer: T.customerLabel, agent: T.agentLabel, system: T.systemLabel }[m.role] || m.role;
    var div = document.createElement("div");
    div.className = "msg " + m.role;
    div.innerHTML = "<span class='from'>" + esc(who) + "</span>" + esc(m.text);
    $("agent-chat-log").appendChild(div);
    $("agent-chat-log").scrollTop = 1e9;
  }
  function renderWaiting(list) {
    $("chat-waiting").innerHTML = list.map(function (c) {
      return "<div>" + esc(c.customer_name || c.phone) + " <button class='chat-accept small' data-id='" + esc(c.id) + "'>" + T.accept + "</button></div>";
    }).join("") || "<p class='muted'>" + T.chatNone + "</p>";
    document.querySelectorAll(".chat-accept").forEach(function (b) {
      b.onclick = function () {
        api("POST", "/api/chat/" + b.dataset.id + "/accept").then(function (c) { openChat(c); }).catch(fail);
      };
    });
  }
  function openChat(c) {
    chat.id = c.id;
    $("chat-active").hidden = false;
    $("chat-customer").textContent = c.customer_name || c.phone;
    $("agent-chat-log").innerHTML = "";
    c.messages.forEach(renderMsg);
    if (chat.sock) chat.sock.send({ type: "watch", chat_id: c.id });
  }
  $("chat-online").onclick = function () {
    if (chat.sock) return;
    $("chat-online").textContent = T.online;
    chat.sock = kefu.socket("/ws/chat/agent", function (ev) {
      if (ev.type === "waiting") renderWaiting(ev.chats);
      else if (ev.type === "message" && ev.chat_id === chat.id) {
        renderMsg(ev);
        if (ev.role === "customer") loadSuggestion();
      }
      else if (ev.type === "closed" && ev.chat_id === chat.id) $("chat-close").disabled = true;
    }, function (ws) { if (chat.id) ws.send(JSON.stringify({ type: "watch", chat_id: chat.id })); });
  };
  function loadSuggestion() {
    api("GET", "/api/chat/" + chat.id + "/suggest").then(function (list) {
      var top = list.filter(function (x) { return x.scenario !== "opening"; })[0];
      $("chat-suggest").hidden = !top;
      if (top) $("chat-suggest-text").textContent = top.script;
    }).catch(function () {});
  }
  $("chat-suggest-use").onclick = function () { $("agent-chat-input").value = $("chat-suggest-text").textContent; };
  $("agent-chat-form").onsubmit = function (ev) {
    ev.preventDefault();
    var text = $("agent-chat-input").value;
    if (!text || !chat.id) return;
    api("POST", "/api/chat/" + chat.id + "/messages", { text: text }).then(function (res) {
      if (res.sent) { $("agent-chat-input").value = ""; $("guard-box").hidden = true; return; }
      $("guard-box").hidden = false;
      $("guard-phrase").textContent = res.guard.phrase;
      $("guard-message").textContent = res.guard.message;
      $("guard-replacement").textContent = res.guard.replacement;
    }).catch(fail);
  };
  $("guard-use").onclick = function () {
    $("agent-chat-input").value = $("guard-replacement").textContent;
    $("guard-box").hidden = true;
  };
  $("chat-close").onclick = function () {
    if (chat.id) api("POST", "/api/chat/" + chat.id + "/close").catch(fail);
  };

  loadWaiting();
  loadMissed();
  loadCallbacks();
})();
