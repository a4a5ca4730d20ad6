// Atende attendant console. Plain DOM, no framework: the page is served with
// a strict CSP (no inline code), and every piece of customer data is set with
// textContent, never parsed as HTML.
"use strict";

// In AWS the page is /v1/console (the REST API's stage prefix); locally
// /console. API paths are relative to the same prefix.
const API_BASE = location.pathname.replace(/\/console\/?$/, "");

(() => {
  const TOKEN_KEY = "atende.console.token";
  const EXPIRY_KEY = "atende.console.expiresAt";
  const REFRESH_KEY = "atende.console.refresh";
  const RENEW_BEFORE_MS = 5 * 60 * 1000; // renew the ID token 5 min before it expires
  const QUEUE_POLL_MS = 20000;
  const MAX_LIST_PAGES = 10; // lists come in pages of 200: up to 2,000 shown

  const SOUND_KEY = "atende.console.sound"; // "on" when the arrival sound is wanted
  const MAX_REPLY_CHARS = 4096; // WhatsApp's text limit (the API refuses longer)
  const BASE_TITLE = document.title;
  const fmt = new Intl.NumberFormat("pt-BR");
  const STATES = {
    bot: "Com o bot", waiting_human: "Aguardando atendente", with_human: "Em atendimento", closed: "Encerrada",
  };
  const DELIVERY = {
    received: "Recebida", pending: "Pendente", sending: "Enviando", sent: "Enviada",
    delivered: "Entregue", read: "Lida", failed: "Falhou",
  };
  const ROLES = { admin: "Administrador(a)", supervisor: "Supervisor(a)", attendant: "Atendente" };
  const MEDIA = {
    image: "Imagem", audio: "Áudio", video: "Vídeo", document: "Documento",
    sticker: "Figurinha", location: "Localização", contacts: "Contato",
  };

  const $ = (id) => document.getElementById(id);
  let dialogTrigger = null; // the control that opened the current dialog

  /** Clones a <template>'s root element (screens and dialogs are mounted on demand). */
  const fromTemplate = (id) => $(id).content.firstElementChild.cloneNode(true);

  // Everything the page knows; reset on sign-out.
  const state = {
    token: null, config: { live_url: null }, me: null,
    queue: [], queueTotal: 0, mine: [], all: [], attendants: [],
    labels: [], labelFilter: "", // the tenant's labels; the lists' filter (a label id)
    knownQueue: null, // ids already seen, to announce only new arrivals
    news: new Set(), // conversations with activity the user has not opened
    open: null, // the open conversation's detail
    olderCursor: null, // where the open conversation's older messages start
    forceTemplate: false, // the last free-text reply hit the closed 24-hour window
    pendingChallenge: null, // {email, session} during first access
    socket: null, socketRetries: 0, timers: [], seq: {},
    teams: [], // where a conversation may be transferred
    adminView: false, // the Administração screen instead of the conversations
    canned: [], // the team's canned responses and the user's own
    cannedEditing: null, // the canned response the form is editing
    cannedMatches: [], cannedActive: -1, // the composer's "/" suggestions
    contact: null, // the open conversation's contact panel, once opened
    templates: null, // {for: conversation id, catalog}: the WhatsApp templates offered
    typingSentAt: {}, // conversation id -> when the typing indicator was last asked
    windowTimer: null, // reloads the open conversation when its 24-hour window ends
    typingNoteTimer: null, // hides "digitando…" when WhatsApp does
    mediaUrls: new Map(), // message id -> blob: URL of its file (fetched once per page)
    presence: null, loads: [], rules: null, // own presence; everyone's load; the tenant's rules
    search: null, // the search box's results: {q, label, results, next}
  };

  // ---------------------------------------------------------------- helpers

  /** createElement with a class, text and attributes; never innerHTML. */
  function el(tag, opts = {}, children = []) {
    const node = document.createElement(tag);
    if (opts.cls) node.className = opts.cls;
    if (opts.text != null) node.textContent = opts.text;
    for (const [k, v] of Object.entries(opts.attrs || {})) node.setAttribute(k, v);
    for (const child of children) if (child) node.append(child);
    return node;
  }

  /** A button whose visible text is short and whose name adds context. */
  function actionButton(visible, hiddenSuffix, onClick, cls = "") {
    const btn = el("button", { cls, attrs: { type: "button" } }, [
      document.createTextNode(visible),
      el("span", { cls: "sr-only", text: " " + hiddenSuffix }),
    ]);
    btn.addEventListener("click", onClick);
    return btn;
  }

  function waitingLabel(seconds) {
    const s = Math.max(0, Math.floor(seconds));
    if (s < 60) return "há menos de 1 min";
    const min = Math.floor(s / 60);
    if (min < 60) return `há ${min} min`;
    const h = Math.floor(min / 60);
    return min % 60 ? `há ${h} h ${min % 60} min` : `há ${h} h`;
  }

  function timeLabel(iso) {
    if (!iso) return "";
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return "";
    const time = d.toLocaleTimeString("pt-BR", { hour: "2-digit", minute: "2-digit" });
    const today = new Date().toDateString() === d.toDateString();
    return today ? time : `${d.toLocaleDateString("pt-BR", { day: "2-digit", month: "2-digit" })} ${time}`;
  }

  /** "+55 11 91234-5678" for Brazilian numbers; anything else as given. */
  function phoneLabel(phone) {
    const digits = String(phone || "").replace(/\D/g, "");
    const m = /^55(\d{2})(\d{4,5})(\d{4})$/.exec(digits);
    return m ? `+55 ${m[1]} ${m[2]}-${m[3]}` : phone || "";
  }

  const oversees = () => state.me && (state.me.role === "admin" || state.me.role === "supervisor");
  const isAdmin = () => state.me && state.me.role === "admin";

  /** Polite announcement for screen readers (and a visible status line). */
  function announce(message) {
    const region = $("status");
    // Re-setting identical text is not re-announced; clear first.
    region.textContent = "";
    window.setTimeout(() => { region.textContent = message; }, 30);
  }

  /** An error as role="alert" in the given container (default: page top). */
  function showError(message, container = $("alerts")) {
    clearErrors();
    container.append(el("p", { cls: "alert", text: message, attrs: { role: "alert" } }));
  }

  function clearErrors() {
    for (const box of document.querySelectorAll(".alerts, .dialog-alerts")) box.replaceChildren();
  }

  /** A validation message next to the field that needs fixing. */
  function invalid(message, field, container) {
    showError(message, container);
    field.focus();
  }

  /** Shows an API error unless it was a 401 (already back at sign-in). */
  function report(error, container) {
    if (error && error.handled) return;
    showError((error && error.message) || "Não foi possível concluir a ação.", container);
  }

  /**
   * Rebuilds a list and puts focus back on the "same" control if it had it,
   * so background refreshes never throw a keyboard user out of the list.
   */
  function rebuildList(list, nodes) {
    const active = document.activeElement;
    const key = active && list.contains(active) ? active.dataset.key : null;
    list.replaceChildren(...nodes);
    if (key) {
      const again = list.querySelector(`[data-key="${CSS.escape(key)}"]`);
      if (again) again.focus();
    }
  }

  /** Runs a loader and drops its result if a newer call started meanwhile. */
  async function latest(name, loader) {
    const mine = (state.seq[name] = (state.seq[name] || 0) + 1);
    const token = state.token;
    const result = await loader();
    // Stale (a newer call started) or signed out meanwhile: drop it.
    return mine === state.seq[name] && token === state.token ? result : undefined;
  }

  /** Every page of a list (the API returns pages of at most 200). */
  async function allPages(path, key) {
    const items = [];
    let cursor = null;
    for (let page = 0; page < MAX_LIST_PAGES; page += 1) {
      const separator = path.includes("?") ? "&" : "?";
      const data = await api("GET", cursor ? `${path}${separator}cursor=${encodeURIComponent(cursor)}` : path);
      items.push(...data[key]);
      cursor = data.next_cursor;
      if (!cursor) break;
    }
    return items;
  }

  /** Where focus goes when the control that had it disappeared. */
  function focusFallback() {
    const view = $("conv-view");
    if (view && !view.hidden) $("conv-title").focus();
    else if ($("mine-title")) $("mine-title").focus();
  }

  // -------------------------------------------------------------------- API

  class ApiError extends Error {
    constructor(status, code, message, details) {
      super(message);
      this.status = status;
      this.code = code;
      this.details = details || {};
    }
  }

  async function api(method, path, body) {
    const headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (state.token) headers.Authorization = "Bearer " + state.token;
    const init = { method, headers, cache: "no-store" };
    if (body !== undefined) init.body = JSON.stringify(body);
    let response;
    try {
      response = await fetch(API_BASE + path, init);
    } catch (_) {
      throw new ApiError(0, "REDE", "Sem conexão com o servidor. Verifique a rede e tente novamente.");
    }
    let data = null;
    try { data = await response.json(); } catch (_) { data = null; }
    if (response.ok) return data;
    const err = (data && data.error) || {};
    const message = err.message || "Não foi possível concluir a ação. Tente novamente.";
    const error = new ApiError(response.status, err.code || "ERRO", message, err.details);
    if (response.status === 401 && state.token) {
      error.handled = true; // the sign-in screen already says why
      signOut("Sua sessão expirou. Entre novamente.");
    }
    throw error;
  }

  // ---------------------------------------------------------------- sign-in

  function showSignIn(message) {
    $("whoami").hidden = true;
    $("main").replaceChildren(fromTemplate("tpl-signin"));
    $("signin-form").addEventListener("submit", onSignIn);
    if (message) showError(message);
    $("signin-email").focus();
  }

  /** First access: the password form replaces the sign-in form. */
  function showNewPassword() {
    const form = fromTemplate("tpl-newpass");
    $("signin-form").replaceWith(form);
    form.addEventListener("submit", onNewPassword);
    $("newpass-password").focus();
  }

  async function onSignIn(event) {
    event.preventDefault();
    clearErrors();
    const email = $("signin-email").value.trim();
    const password = $("signin-password").value;
    if (!email || !password) return invalid("Informe o e-mail e a senha.", $(email ? "signin-password" : "signin-email"));
    try {
      const session = await api("POST", "/v1/console/session", { email, password });
      await begin(session);
    } catch (error) {
      if (error.code === "SENHA_PROVISORIA" && error.details.session) {
        state.pendingChallenge = { email, session: error.details.session };
        showNewPassword();
        announce("Primeiro acesso: crie uma nova senha.");
        return;
      }
      report(error);
      $("signin-password").focus();
    }
  }

  async function onNewPassword(event) {
    event.preventDefault();
    clearErrors();
    const newPassword = $("newpass-password").value;
    if (!newPassword) return invalid("Informe a nova senha.", $("newpass-password"));
    const challenge = state.pendingChallenge;
    try {
      const { email, session: challengeSession } = challenge;
      const body = { email, session: challengeSession, new_password: newPassword };
      const session = await api("POST", "/v1/console/session", body);
      state.pendingChallenge = null;
      await begin(session);
    } catch (error) {
      report(error);
      $("newpass-password").focus();
    }
  }

  function keep(session) {
    const expiresAt = Date.now() + (session.expires_in || 3600) * 1000;
    sessionStorage.setItem(TOKEN_KEY, session.token);
    sessionStorage.setItem(EXPIRY_KEY, String(expiresAt));
    if (session.refresh_token) sessionStorage.setItem(REFRESH_KEY, session.refresh_token);
    return expiresAt;
  }

  async function begin(session) {
    await startApp(session.token, keep(session), true);
  }

  /** Renew the ID token before it expires; without a refresh token, sign out. */
  function scheduleRenewal(expiresAt) {
    const renew = async () => {
      const refreshToken = sessionStorage.getItem(REFRESH_KEY);
      if (!refreshToken || !state.token) {
        signOut("Sua sessão expirou. Entre novamente.");
        return;
      }
      try {
        const session = await api("POST", "/v1/console/session", { refresh_token: refreshToken });
        state.token = session.token;
        scheduleRenewal(keep(session));
      } catch (_) {
        if (state.token) signOut("Sua sessão expirou. Entre novamente.");
      }
    };
    state.timers.push(window.setTimeout(renew, Math.max(10_000, expiresAt - Date.now() - RENEW_BEFORE_MS)));
  }

  function signOut(message) {
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(EXPIRY_KEY);
    sessionStorage.removeItem(REFRESH_KEY);
    for (const t of state.timers) window.clearInterval(t);
    if (state.socket) {
      const socket = state.socket;
      state.socket = null; // tells onclose not to reconnect
      socket.close();
    }
    Object.assign(state, {
      token: null, me: null, queue: [], knownQueue: null, mine: [], all: [],
      open: null, olderCursor: null, forceTemplate: false, attendants: [], timers: [], socketRetries: 0,
      teams: [], adminView: false, templates: null, typingSentAt: {},
    });
    state.news.clear();
    forgetMedia();
    document.title = BASE_TITLE;
    $("view-switch").hidden = true;
    for (const d of document.querySelectorAll("dialog")) d.remove();
    dialogTrigger = null;
    clearErrors();
    showSignIn(message);
  }

  // ---------------------------------------------------------------- the app

  async function startApp(token, expiresAt, fromForm) {
    state.token = token;
    try {
      state.me = await api("GET", "/v1/console/me");
    } catch (error) {
      if (state.token) signOut(error.message);
      return;
    }
    $("main").replaceChildren(fromTemplate("tpl-app"));
    bindApp();
    $("whoami").hidden = false;
    $("me-name").textContent = state.me.display_name || state.me.email;
    $("me-role").textContent = ROLES[state.me.role] + (state.me.team ? ` · equipe ${state.me.team}` : "");
    $("all-panel").hidden = !oversees();
    $("reports-link").hidden = !oversees();
    // Everyone manages their own canned responses there; supervisors more.
    $("view-switch").hidden = false;
    $("canned-scope-field").hidden = !oversees();
    $("privacy-link").hidden = !isAdmin();
    $("hours-link").hidden = !isAdmin(); // business hours
    $("attendants-panel").hidden = !isAdmin();
    $("labels-panel").hidden = !oversees();
    showView(false);
    setupPresence();
    setupAttention();
    clearErrors();
    if (fromForm) announce(`Bem-vindo(a), ${state.me.display_name || ""}.`);
    $("queue-title").focus();

    state.timers.push(
      window.setInterval(tickWaiting, 1000),
      window.setInterval(poll, QUEUE_POLL_MS),
    );
    scheduleRenewal(expiresAt);
    await refreshAll();
    connectLive();
  }

  /** Fallback refresh; the open conversation only when live updates are down. */
  function poll() {
    refreshQueue();
    refreshMine();
    const live = state.socket && state.socket.readyState === WebSocket.OPEN;
    if (!live) reloadOpen();
  }

  async function refreshAll() {
    await Promise.all([
      refreshLabels(),
      refreshCanned(),
      refreshLists(),
      isAdmin() ? refreshAttendants() : null,
      oversees() ? refreshLoad() : null,
      state.open ? reloadOpen() : null,
    ]);
  }

  // ---------------------------------------------------- views and attention

  /** The conversations (default) or, for supervisors, the Administração screen. */
  function showView(admin) {
    state.adminView = admin;
    $("workspace").hidden = admin;
    $("admin-view").hidden = !admin;
    $("view-switch").textContent = admin ? "Voltar ao atendimento" : oversees() ? "Administração" : "Respostas rápidas";
  }

  function onViewSwitch() {
    showView(!state.adminView);
    if (state.adminView) (isAdmin() ? $("attendants-title") : oversees() ? $("labels-title") : $("canned-title")).focus();
    else $("mine-title").focus();
    announce(state.adminView ? (oversees() ? "Administração: etiquetas, respostas rápidas e atendentes." : "Respostas rápidas.") : "Conversas.");
  }

  /** The arrival sound (off unless chosen; the choice is remembered) and the
   * browser's notifications (permission asked only when the user clicks). */
  function setupAttention() {
    const sound = $("sound-toggle");
    sound.checked = localStorage.getItem(SOUND_KEY) === "on";
    sound.addEventListener("change", () => {
      localStorage.setItem(SOUND_KEY, sound.checked ? "on" : "off");
      announce(sound.checked ? "Som de novas conversas ligado." : "Som de novas conversas desligado.");
    });
    renderNotifyState();
    $("notify-enable").addEventListener("click", async () => {
      try {
        await Notification.requestPermission();
      } catch (_) {
        // Old browsers: no notifications; the title and the list still tell.
      }
      renderNotifyState();
      announce($("notify-state").textContent);
      // The button is gone once answered: focus stays in the same group.
      if (document.activeElement === document.body) $("sound-toggle").focus();
    });
  }

  function renderNotifyState() {
    const supported = "Notification" in window;
    const permission = supported ? Notification.permission : "denied";
    $("notify-enable").hidden = !supported || permission !== "default";
    const line = $("notify-state");
    line.hidden = !supported || permission === "default";
    line.textContent = permission === "granted"
      ? "Notificações do navegador ativadas."
      : "Notificações bloqueadas no navegador.";
  }

  /** A short two-tone chime made on the spot (no audio file to load). */
  function chime() {
    const Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return;
    try {
      const ctx = new Context();
      const gain = ctx.createGain();
      gain.gain.value = 0.08;
      gain.connect(ctx.destination);
      [660, 880].forEach((freq, i) => {
        const tone = ctx.createOscillator();
        tone.frequency.value = freq;
        tone.connect(gain);
        tone.start(ctx.currentTime + i * 0.18);
        tone.stop(ctx.currentTime + i * 0.18 + 0.15);
      });
      window.setTimeout(() => ctx.close(), 800);
    } catch (_) {
      // Audio blocked (no user gesture yet): the other cues remain.
    }
  }

  function alertArrivals(fresh) {
    if (!fresh.length) return;
    if ($("sound-toggle") && $("sound-toggle").checked) chime();
    if ("Notification" in window && Notification.permission === "granted") {
      const body = fresh.map((q) => `${q.customer} · ${q.reason_label}`).join("\n");
      try {
        const note = new Notification(fresh.length === 1 ? "Nova conversa na fila" : `${fresh.length} novas conversas na fila`,
          { body, tag: "atende-fila" });
        note.onclick = () => { window.focus(); $("queue-title").focus(); };
      } catch (_) {
        // Some browsers only notify from a service worker: the title still counts.
      }
    }
  }

  /** "(3) Atende — Console": how many wait, visible from any tab. */
  function renderTitle() {
    const waiting = Math.max(state.queueTotal || 0, state.queue.length);
    document.title = waiting ? `(${waiting}) ${BASE_TITLE}` : BASE_TITLE;
  }

  // ------------------------------------------------------------------ queue

  async function refreshQueue() {
    try {
      const data = await latest("queue", () => api("GET", filtered("/v1/console/queue")));
      if (!data) return;
      const now = Date.now();
      state.queueTotal = data.total;
      state.queue = data.queue
        .map((item) => ({ ...item, since: now - item.waiting_s * 1000 }))
        .sort((a, b) => (b.priority || 0) - (a.priority || 0) || a.since - b.since);
      announceArrivals();
      renderQueue();
    } catch (error) {
      report(error);
    }
  }

  function announceArrivals() {
    const ids = new Set(state.queue.map((q) => q.conversation_id));
    if (state.knownQueue) {
      const fresh = state.queue.filter((q) => !state.knownQueue.has(q.conversation_id));
      if (fresh.length === 1) announce(`Nova conversa na fila: ${fresh[0].customer}`);
      else if (fresh.length > 1) announce(`${fresh.length} novas conversas na fila: ${fresh.map((q) => q.customer).join(", ")}`);
      alertArrivals(fresh);
    }
    state.knownQueue = ids;
  }

  function renderQueue() {
    const items = state.queue.map((q) => {
      const claimBtn = actionButton("Assumir", `conversa de ${q.customer}`, () => claim(q.conversation_id, claimBtn), "primary small");
      claimBtn.dataset.key = `claim:${q.conversation_id}`;
      const view = actionButton("Ver", `conversa de ${q.customer}`, () => openConversation(q.conversation_id, view), "small");
      view.dataset.key = `view:${q.conversation_id}`;
      const tags = [el("span", { cls: "tag", text: q.reason_label })];
      if (q.priority >= 2) tags.push(el("span", { cls: "tag urgent", text: "Prioridade alta" }));
      else if (q.priority === 1) tags.push(el("span", { cls: "tag warn", text: "Prioridade média" }));
      if (q.team) tags.push(el("span", { cls: "tag", text: `Equipe ${q.team}` }));
      if (q.outside_hours) tags.push(el("span", { cls: "tag warn", text: "Fora do horário" })); // business hours
      const li = el("li", { cls: "card" + (isOpen(q.conversation_id) ? " current" : "") }, [
        el("p", { cls: "card-title" }, [
          el("strong", { text: q.customer }),
          el("span", { cls: "wait", text: waitingLabel((Date.now() - q.since) / 1000), attrs: { "data-since": String(q.since) } }),
        ]),
        q.phone ? el("p", { cls: "muted", text: q.phone }) : null,
        el("p", { cls: "tags" }, [el("span", { cls: "sr-only", text: "Motivo: " }), ...tags]),
        q.summary ? el("p", { cls: "summary", text: q.summary }) : null,
        labelChips(q.labels),
        el("div", { cls: "card-actions" }, [claimBtn, view]),
      ]);
      li.dataset.id = q.conversation_id;
      return li;
    });
    rebuildList($("queue-list"), items);
    $("queue-empty").hidden = items.length > 0;
    // The API sends the head of the queue; the count is of everyone waiting.
    const total = Math.max(state.queueTotal || 0, items.length);
    $("queue-count").textContent = total ? `(${total})` : "";
    renderTitle();
  }

  /** Waiting times move every second without refetching. */
  function tickWaiting() {
    for (const span of document.querySelectorAll("#queue-list [data-since]")) {
      const text = waitingLabel((Date.now() - Number(span.dataset.since)) / 1000);
      if (span.textContent !== text) span.textContent = text;
    }
  }

  // ---------------------------------------------------- conversation lists

  // "Minhas conversas" opens with "Abrir"; "Todas" uses another verb so the
  // two lists never give two buttons the same name.
  const VERBS = { mine: "Abrir", all: "Acompanhar" };

  /** Refetches one list: "mine", or "all" (supervisors and admins). */
  async function refreshList(kind) {
    if (kind === "all" && !oversees()) return;
    try {
      const conversations = await latest(kind, () => allPages(filtered(`/v1/console/conversations?scope=${kind}`), "conversations"));
      if (!conversations) return;
      state[kind] = conversations;
      renderConversationList(kind);
    } catch (error) {
      report(error);
    }
  }

  const refreshMine = () => refreshList("mine");
  const refreshLists = () => Promise.all([refreshQueue(), refreshList("mine"), refreshList("all")]);

  function renderConversationList(kind) {
    const verb = VERBS[kind];
    const items = state[kind].map((c) => {
      const open = actionButton(verb, `conversa de ${c.customer}`, () => openConversation(c.conversation_id, open), "small");
      open.dataset.key = `${kind}:${c.conversation_id}`;
      if (isOpen(c.conversation_id)) open.setAttribute("aria-current", "true");
      const who = c.attendant ? ` · ${c.attendant}` : c.team ? ` · equipe ${c.team}` : "";
      const hasNews = state.news.has(c.conversation_id);
      const li = el("li", { cls: "card" + (hasNews ? " news" : "") + (isOpen(c.conversation_id) ? " current" : "") }, [
        el("p", { cls: "card-title" }, [
          el("strong", { text: c.customer }),
          hasNews ? el("span", { cls: "tag news", text: "Nova atividade" }) : null,
        ]),
        el("p", { cls: "muted", text: `${STATES[c.state] || c.state}${kind === "all" ? who : ""} · ${timeLabel(c.last_activity_at)}` }),
        labelChips(c.labels),
        el("div", { cls: "card-actions" }, [open]),
      ]);
      li.dataset.id = c.conversation_id;
      return li;
    });
    rebuildList($(`${kind}-list`), items);
    $(`${kind}-empty`).hidden = items.length > 0;
    if (kind === "mine") $("mine-count").textContent = items.length ? `(${items.length})` : "";
  }

  const isOpen = (id) => state.open && state.open.conversation_id === id;

  function rerenderLists() {
    renderQueue();
    renderConversationList("mine");
    if (oversees()) renderConversationList("all");
  }

  // ------------------------------------------------------- conversation view

  async function openConversation(id, trigger) {
    clearErrors();
    try {
      const detail = await latest("open", () => api("GET", `/v1/console/conversations/${encodeURIComponent(id)}`));
      if (!detail) return;
      const switching = !state.open || state.open.conversation_id !== id;
      if (switching) {
        state.forceTemplate = false;
        state.olderCursor = detail.older_cursor;
        $("conv-messages").replaceChildren();
        $("reply-text").value = "";
        closeCanned();
        renderCounter();
        resetContact(); // contact panel
      }
      state.open = detail;
      state.news.delete(id);
      renderConversation();
      rerenderLists();
      $("conv-title").focus();
    } catch (error) {
      report(error);
      if (trigger) trigger.focus();
    }
  }

  /** Refetches the open conversation (live update or after an action). */
  async function reloadOpen() {
    if (!state.open) return;
    const id = state.open.conversation_id;
    try {
      const detail = await latest("open", () => api("GET", `/v1/console/conversations/${encodeURIComponent(id)}`));
      if (!detail || !isOpen(id)) return;
      state.open = detail;
      renderConversation();
    } catch (error) {
      if (error.status === 403 || error.status === 404) {
        // e.g. transferred away: this user may no longer read it.
        closeConversationView();
        rerenderLists();
        announce(error.message);
        if (document.activeElement === document.body) focusFallback();
        return;
      }
      report(error);
    }
  }

  function closeConversationView() {
    state.open = null;
    const view = $("conv-view");
    view.hidden = true;
    delete view.dataset.state;
    $("conv-placeholder").hidden = false;
    $("context-panel").hidden = true;
  }

  function renderConversation() {
    const c = state.open;
    const view = $("conv-view");
    view.hidden = false;
    view.dataset.state = c.state;
    $("conv-placeholder").hidden = true;
    $("context-panel").hidden = false;
    $("conv-title").textContent = c.customer.name;
    $("conv-customer").textContent = c.customer.name;
    $("conv-phone").textContent = c.customer.phone ? phoneLabel(c.customer.phone) : (c.customer.username ? "@" + c.customer.username : "");
    const who = c.attendant ? ` com ${c.attendant}` : c.team ? ` · equipe ${c.team}` : "";
    $("conv-state").textContent = (STATES[c.state] || c.state) + (c.state === "with_human" || c.state === "waiting_human" ? who : "");
    $("conv-state").dataset.state = c.state;
    $("conv-protocol").textContent = `Protocolo ${c.protocol}`;

    $("conv-handoff").hidden = !c.handoff;
    if (c.handoff) {
      $("conv-reason").textContent = c.handoff.reason_label;
      $("conv-summary").textContent = c.handoff.summary || "Sem resumo.";
    }
    const windowLine = $("conv-window");
    windowLine.textContent = c.window_open
      ? `Janela de 24 h aberta até ${timeLabel(c.window_ends_at)}`
      : closedWindowText(c);
    windowLine.classList.toggle("closed", !c.window_open);
    // The window only matters while people handle the conversation.
    windowLine.hidden = c.state !== "with_human" && c.state !== "waiting_human";

    renderActions(c);
    renderHolder(c);
    renderComposer(c);
    const log = $("conv-messages");
    const known = c.messages.some((m) => log.querySelector(`li[data-id="${CSS.escape(m.id)}"]`));
    if (log.children.length && !known && c.older_cursor) {
      // More arrived than one page since the last render: start over from
      // the latest page rather than leave a gap in the history.
      log.replaceChildren();
      state.olderCursor = c.older_cursor;
    }
    renderMessages(c.messages);
    renderNotes(c.notes || []);
    renderActivity(c.activity || []);
    renderConversationLabels(c);
    $("conv-older").hidden = !state.olderCursor;
  }

  /** "Carregar mensagens anteriores": the page before the oldest one shown. */
  async function loadOlder() {
    const id = state.open && state.open.conversation_id;
    const cursor = state.olderCursor;
    if (!id || !cursor) return;
    const button = $("conv-older");
    button.disabled = true;
    clearErrors();
    try {
      const path = `/v1/console/conversations/${encodeURIComponent(id)}/messages?before=${encodeURIComponent(cursor)}`;
      const page = await api("GET", path);
      if (!isOpen(id) || state.olderCursor !== cursor) return; // switched, or loaded meanwhile
      prependMessages(page.messages);
      state.olderCursor = page.older_cursor;
      const count = page.messages.length;
      announce(count === 1 ? "1 mensagem anterior carregada." : `${count} mensagens anteriores carregadas.`);
      if (!state.olderCursor) {
        button.hidden = true;
        $("conv-messages").focus(); // the button that had focus is gone
      }
    } catch (error) {
      report(error);
    } finally {
      button.disabled = false;
    }
  }

  /** Older messages go on top; what the user was reading stays in view. */
  function prependMessages(messages) {
    const log = $("conv-messages");
    const height = log.scrollHeight;
    const first = log.firstElementChild;
    for (const m of messages) {
      if (!log.querySelector(`li[data-id="${CSS.escape(m.id)}"]`)) log.insertBefore(buildMessage(m), first);
    }
    log.scrollTop += log.scrollHeight - height;
  }

  function renderActions(c) {
    const me = state.me;
    const mine = c.assigned_attendant_id === me.attendant_id;
    const handles = mine || oversees();
    const withPeople = c.state === "with_human" || c.state === "waiting_human";
    const watching = c.state === "with_human" && !mine; // someone else holds it
    const show = {
      "act-claim": c.state === "waiting_human",
      // Supervisors take over a conversation someone else holds (a transfer to themselves).
      "act-takeover": watching && oversees(),
      "act-transfer": withPeople && handles,
      "act-return": withPeople && handles,
      "act-close": c.state !== "closed" && handles,
    };
    const focused = document.activeElement;
    for (const [id, visible] of Object.entries(show)) $(id).hidden = !visible;
    $("conv-actions").hidden = !Object.values(show).some(Boolean);

    const canReply = c.state === "with_human" && mine;
    const template = canReply && (!c.window_open || state.forceTemplate);
    $("reply-form").hidden = !canReply || template;
    $("template-form").hidden = !template;
    $("attach-form").hidden = $("reply-form").hidden; // files are free-form too
    const noReply = $("conv-noreply");
    noReply.textContent = noReplyReason(c, mine);
    noReply.hidden = canReply || !noReply.textContent;
    // A control that just disappeared must not leave focus on <body>.
    if (focused && focused !== document.body && focused.closest("[hidden]")) focusFallback();
  }

  /** Why there is no reply box, in words (who holds the conversation). */
  function noReplyReason(c, mine) {
    if (c.state === "with_human" && !mine) {
      const holder = c.attendant || "outro atendente";
      return oversees()
        ? `Esta conversa está com ${holder}; só quem a atende responde. Use "Assumir atendimento" para responder você.`
        : `Esta conversa está com ${holder}; só quem a atende responde.`;
    }
    if (c.state === "waiting_human") return "Assuma a conversa para responder ao cliente.";
    if (c.state === "bot") return "O bot está atendendo esta conversa.";
    if (c.state === "closed") return "Conversa encerrada.";
    return "";
  }

  function messageAuthor(m) {
    if (m.direction === "inbound") return state.open.customer.name;
    return m.attendant || "Bot";
  }

  function messageBody(m) {
    if (m.body) return m.body;
    return `[${MEDIA[m.type] || m.type || "mensagem"}]`;
  }

  function deliveryLabel(m) {
    const label = DELIVERY[m.status] || m.status || "";
    if (m.status === "failed") return `${label}${m.error_title ? `: ${m.error_title}` : ""}`;
    return label;
  }

  /** Keyed update: append new messages, update statuses in place. */
  function renderMessages(messages) {
    const log = $("conv-messages");
    const nearBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 80;
    let appended = false;
    for (const m of messages) {
      let item = log.querySelector(`li[data-id="${CSS.escape(m.id)}"]`);
      if (!item) {
        item = buildMessage(m);
        log.append(item);
        appended = true;
      } else if (m.direction === "outbound") {
        const status = item.querySelector(".delivery");
        const text = deliveryLabel(m);
        if (status && status.textContent !== text) {
          status.textContent = text;
          status.dataset.status = m.status;
        }
      }
    }
    if (appended && (nearBottom || log.children.length === messages.length)) log.scrollTop = log.scrollHeight;
  }

  function buildMessage(m) {
    const meta = el("p", { cls: "msg-meta" }, [
      el("span", { cls: "author", text: messageAuthor(m) }),
      el("span", { cls: "sr-only", text: ", " }),
      el("time", { text: timeLabel(m.created_at), attrs: { datetime: m.created_at || "" } }),
    ]);
    const shown = mediaContent(m); // media both ways: the file or place itself
    const text = m.body || !shown ? el("p", { cls: "msg-body", text: messageBody(m) }) : null;
    const li = el("li", { cls: `msg ${m.direction}` }, [meta, shown, text]);
    if (m.direction === "outbound") {
      li.append(el("p", { cls: "msg-status" }, [
        el("span", { cls: "sr-only", text: "Situação: " }),
        el("span", { cls: "delivery", text: deliveryLabel(m), attrs: { "data-status": m.status || "" } }),
      ]));
    }
    li.dataset.id = m.id;
    li.dataset.at = m.created_at || "";
    return li;
  }

  // ------------------------------------------------ private notes and labels

  /** With "?" or "&": the lists' label filter on an API path. */
  function filtered(path) {
    if (!state.labelFilter) return path;
    return `${path}${path.includes("?") ? "&" : "?"}label=${encodeURIComponent(state.labelFilter)}`;
  }

  /** Black or white text, whichever reads better on the label's colour. */
  function chipText(hex) {
    const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
    return 0.299 * r + 0.587 * g + 0.114 * b > 150 ? "#000000" : "#ffffff";
  }

  function chip(label, extra) {
    const node = el("span", { cls: "chip", text: label.name });
    node.style.background = label.color;
    node.style.color = chipText(label.color);
    if (extra) node.append(extra);
    return node;
  }

  function labelChips(labels) {
    if (!labels || !labels.length) return null;
    return el("p", { cls: "chips" }, [el("span", { cls: "sr-only", text: "Etiquetas: " }), ...labels.map((l) => chip(l))]);
  }

  /** An entry among the messages at its time (notes, activity). */
  function insertByTime(li, createdAt) {
    const log = $("conv-messages");
    li.dataset.at = createdAt;
    const at = Date.parse(createdAt);
    const after = [...log.children].find((item) => item.dataset.at && Date.parse(item.dataset.at) > at);
    // Older than the oldest message shown: it appears when those load.
    if (after === log.firstElementChild && state.olderCursor) return;
    log.insertBefore(li, after || null);
  }

  const inLog = (id) => $("conv-messages").querySelector(`li[data-id="${CSS.escape(id)}"]`);

  /** Notes go in the timeline among the messages, by time; never sent. */
  function renderNotes(notes) {
    for (const n of notes) {
      if (inLog(n.id)) continue;
      const li = el("li", { cls: "msg note" }, [
        el("p", { cls: "msg-meta" }, [
          el("span", { cls: "author", text: `Nota interna · ${n.attendant || "Equipe"}` }),
          el("span", { cls: "sr-only", text: ", " }),
          el("time", { text: timeLabel(n.created_at), attrs: { datetime: n.created_at } }),
        ]),
        el("p", { cls: "msg-body", text: n.body }),
      ]);
      li.dataset.id = n.id;
      insertByTime(li, n.created_at);
    }
  }

  /** "Ana assumiu a conversa", "Devolvida ao bot por Ana": who moved it, when. */
  function renderActivity(entries) {
    const log = $("conv-messages");
    const nearBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 80;
    let added = false;
    for (const a of entries) {
      if (inLog(a.id)) continue;
      const li = el("li", { cls: "msg activity" }, [
        el("p", { cls: "msg-body" }, [
          document.createTextNode(a.text),
          el("span", { cls: "sr-only", text: ", " }),
          el("time", { text: ` · ${timeLabel(a.created_at)}`, attrs: { datetime: a.created_at } }),
        ]),
      ]);
      li.dataset.id = a.id;
      insertByTime(li, a.created_at);
      added = true;
    }
    if (added && nearBottom) log.scrollTop = log.scrollHeight;
  }

  function renderConversationLabels(c) {
    const applied = new Set((c.labels || []).map((l) => l.id));
    rebuildList($("conv-labels"), (c.labels || []).map((l) => {
      const remove = actionButton("×", `Remover etiqueta ${l.name}`, () => setLabel(l.id, false), "small");
      remove.dataset.key = `unlabel:${l.id}`;
      const li = el("li", {}, [chip(l, remove)]);
      li.dataset.id = l.id;
      return li;
    }));
    const options = state.labels.filter((l) => !applied.has(l.id)).map((l) => el("option", { text: l.name, attrs: { value: l.id } }));
    $("label-add").replaceChildren(...(options.length ? options : [el("option", { text: "Nenhuma a adicionar", attrs: { value: "" } })]));
    $("label-add").disabled = $("label-add-btn").disabled = !options.length;
  }

  async function setLabel(labelId, on) {
    const id = state.open && state.open.conversation_id;
    if (!id || !labelId) return;
    clearErrors();
    try {
      const path = `/v1/console/conversations/${encodeURIComponent(id)}/labels/${encodeURIComponent(labelId)}`;
      const body = await api(on ? "PUT" : "DELETE", path);
      const name = (state.labels.find((l) => l.id === labelId) || {}).name || "";
      if (isOpen(id)) {
        state.open.labels = body.labels;
        renderConversationLabels(state.open);
      }
      announce(on ? `Etiqueta ${name} adicionada.` : `Etiqueta ${name} removida.`);
      // The control used may be gone (the last label added, or a chip removed).
      ($("label-add").disabled ? $("conv-title") : $("label-add")).focus();
      refreshLists();
    } catch (error) {
      report(error);
    }
  }

  async function onNote(event) {
    event.preventDefault();
    const box = $("note-text");
    const text = box.value.trim();
    if (!text) return invalid("Escreva a nota antes de salvar.", box);
    const id = state.open.conversation_id;
    clearErrors();
    try {
      const note = await api("POST", `/v1/console/conversations/${encodeURIComponent(id)}/notes`, { text });
      if (isOpen(id)) {
        state.open.notes = (state.open.notes || []).concat([note]);
        renderNotes([note]);
        $("conv-messages").scrollTop = $("conv-messages").scrollHeight;
      }
      box.value = "";
      announce("Nota interna salva. Ela não foi enviada ao cliente.");
      box.focus();
    } catch (error) {
      report(error);
      box.focus();
    }
  }

  async function refreshLabels() {
    try {
      const labels = await latest("labels", () => allPages("/v1/console/labels", "labels"));
      if (!labels) return;
      state.labels = labels;
      if (state.labelFilter && !labels.some((l) => l.id === state.labelFilter)) state.labelFilter = "";
      const filter = $("label-filter");
      filter.replaceChildren(el("option", { text: "Todas as conversas", attrs: { value: "" } }),
        ...labels.map((l) => el("option", { text: l.name, attrs: { value: l.id } })));
      filter.value = state.labelFilter;
      rebuildList($("labels-list"), labels.map((l) => {
        const del = actionButton("Excluir", `etiqueta ${l.name}`, () => deleteLabel(l), "small danger");
        del.dataset.key = `delete-label:${l.id}`;
        const li = el("li", {}, [chip(l, oversees() ? del : null)]);
        li.dataset.id = l.id;
        return li;
      }));
      if (state.open) renderConversationLabels(state.open);
    } catch (error) {
      report(error);
    }
  }

  async function onCreateLabel(event) {
    event.preventDefault();
    const name = $("label-name");
    if (!name.value.trim()) return invalid("Informe o nome da etiqueta.", name);
    clearErrors();
    try {
      const label = await api("POST", "/v1/console/labels", { name: name.value, color: $("label-color").value });
      name.value = "";
      announce(`Etiqueta ${label.name} criada.`);
      await refreshLabels();
      name.focus();
    } catch (error) {
      report(error);
      name.focus();
    }
  }

  async function deleteLabel(label) {
    clearErrors();
    try {
      await api("DELETE", `/v1/console/labels/${encodeURIComponent(label.id)}`);
      announce(`Etiqueta ${label.name} excluída.`);
      await refreshLabels();
      await refreshLists();
      if (state.open) await reloadOpen();
      $("labels-title").focus();
    } catch (error) {
      report(error);
    }
  }

  function onFilter() {
    state.labelFilter = $("label-filter").value;
    const name = (state.labels.find((l) => l.id === state.labelFilter) || {}).name;
    refreshLists().then(() => announce(name ? `Mostrando conversas com a etiqueta ${name}.` : "Mostrando todas as conversas."));
  }

  // ----------------------------------------------------------------- actions

  async function claim(id, trigger) {
    clearErrors();
    try {
      await api("POST", `/v1/console/conversations/${encodeURIComponent(id)}/claim`);
      announce("Conversa assumida.");
      await refreshLists();
      await openConversation(id);
      const box = $("reply-form").hidden ? $("template-name") : $("reply-text");
      if (!box.closest("[hidden]")) box.focus();
    } catch (error) {
      report(error);
      if (error.status === 409) {
        await refreshQueue();
        if (isOpen(id)) await reloadOpen();
      }
      if (trigger && trigger.isConnected && !trigger.closest("[hidden]")) trigger.focus();
      else $("queue-title").focus();
    }
  }

  async function send(body, successMessage, field) {
    const id = state.open.conversation_id;
    clearErrors();
    try {
      const message = await api("POST", `/v1/console/conversations/${encodeURIComponent(id)}/messages`, body);
      announce(successMessage);
      if (isOpen(id) && message) {
        state.open.messages = state.open.messages.concat([message]);
        renderMessages(state.open.messages);
      }
      return true;
    } catch (error) {
      report(error);
      if (error.code === "JANELA_24H_ENCERRADA") {
        state.forceTemplate = true;
        renderConversation();
        $("template-name").focus();
      } else if (field && !field.closest("[hidden]")) {
        field.focus();
      }
      return false;
    }
  }

  async function onReply(event) {
    event.preventDefault();
    const box = $("reply-text");
    const text = box.value.trim();
    if (!text) return invalid("Digite a mensagem antes de enviar.", box);
    // A variable nobody filled is never sent as "{{...}}" to the customer.
    const unfilled = text.match(/\{\{[^{}]*\}\}/);
    if (unfilled) {
      box.setSelectionRange(unfilled.index, unfilled.index + unfilled[0].length);
      return invalid(`Preencha ${unfilled[0]} antes de enviar: troque pelo valor certo ou apague.`, box);
    }
    // Never cut silently: too long is refused here, with the numbers.
    if (text.length > MAX_REPLY_CHARS) {
      const over = fmt.format(text.length - MAX_REPLY_CHARS);
      return invalid(`A mensagem tem ${fmt.format(text.length)} caracteres e o limite do WhatsApp é ${fmt.format(MAX_REPLY_CHARS)}: encurte ${over} caracteres ou divida em duas mensagens.`, box);
    }
    if (await send({ text }, "Mensagem enviada", box)) {
      box.value = "";
      renderCounter();
      box.focus();
    }
  }

  /** "1.234/4.096" under the reply box; red, and said, once past the limit. */
  function renderCounter() {
    const length = $("reply-text").value.trim().length;
    const counter = $("reply-count");
    const over = length > MAX_REPLY_CHARS;
    const text = over
      ? `${fmt.format(length)}/${fmt.format(MAX_REPLY_CHARS)} — passou ${fmt.format(length - MAX_REPLY_CHARS)}`
      : `${fmt.format(length)}/${fmt.format(MAX_REPLY_CHARS)}`;
    counter.textContent = text;
    // Said once when crossing the limit, not on every key.
    if (over && !counter.classList.contains("over")) {
      announce(`A mensagem passou do limite de ${fmt.format(MAX_REPLY_CHARS)} caracteres.`);
    }
    counter.classList.toggle("over", over);
  }

  async function conversationAction(path, body, message) {
    const id = state.open.conversation_id;
    await api("POST", `/v1/console/conversations/${encodeURIComponent(id)}/${path}`, body);
    // A conversation this user sent back to the queue is not "new" to them.
    if (state.knownQueue) state.knownQueue.add(id);
    await refreshLists();
    await reloadOpen();
    announce(message);
  }

  async function onReturnToBot() {
    clearErrors();
    try {
      await conversationAction("return-to-bot", undefined, "Conversa devolvida ao bot.");
    } catch (error) {
      report(error);
    }
    focusFallback();
  }

  // ------------------------------------------------------ canned responses

  async function refreshCanned() {
    try {
      const canned = await latest("canned", () => allPages("/v1/console/canned-responses", "canned_responses"));
      if (!canned) return;
      state.canned = canned;
      renderCannedAdmin();
    } catch (error) {
      report(error);
    }
  }

  /** The Administração list: each with its scope; the team's editable by supervisors. */
  function renderCannedAdmin() {
    rebuildList($("canned-admin-list"), state.canned.map((c) => {
      const mayEdit = c.scope === "personal" || oversees();
      const edit = actionButton("Editar", `resposta /${c.shortcut}`, () => editCanned(c), "small");
      edit.dataset.key = `edit-canned:${c.id}`;
      const del = actionButton("Excluir", `resposta /${c.shortcut}`, () => deleteCanned(c), "small danger");
      del.dataset.key = `delete-canned:${c.id}`;
      const li = el("li", { cls: "canned-item" }, [
        el("p", {}, [
          el("strong", { text: `/${c.shortcut}` }), " ",
          el("span", { text: c.title }), " ",
          el("span", { cls: "tag", text: c.scope === "team" ? "Equipe" : "Pessoal" }),
        ]),
        el("p", { cls: "canned-text", text: c.body }),
        mayEdit ? el("div", { cls: "card-actions" }, [edit, del]) : null,
      ]);
      li.dataset.id = c.id;
      return li;
    }));
  }

  /** Fills the form with ``canned`` (null: back to creating a new one). */
  function editCanned(canned) {
    state.cannedEditing = canned;
    $("canned-shortcut").value = canned ? canned.shortcut : "";
    $("canned-title-input").value = canned ? canned.title : "";
    $("canned-body").value = canned ? canned.body : "";
    $("canned-scope").value = canned ? canned.scope : oversees() ? "team" : "personal";
    $("canned-scope").disabled = Boolean(canned); // a response keeps its scope
    $("canned-submit").textContent = canned ? "Salvar resposta rápida" : "Criar resposta rápida";
    $("canned-cancel").hidden = !canned;
    $("canned-shortcut").focus();
  }

  async function onCannedSubmit(event) {
    event.preventDefault();
    const shortcut = $("canned-shortcut");
    if (!shortcut.value.trim()) return invalid("Informe o atalho da resposta rápida.", shortcut);
    const body = {
      scope: oversees() ? $("canned-scope").value : "personal",
      shortcut: shortcut.value, title: $("canned-title-input").value, body: $("canned-body").value,
    };
    const editing = state.cannedEditing;
    clearErrors();
    try {
      const saved = editing
        ? await api("PUT", `/v1/console/canned-responses/${encodeURIComponent(editing.id)}`, body)
        : await api("POST", "/v1/console/canned-responses", body);
      announce(`Resposta rápida /${saved.shortcut} ${editing ? "salva" : "criada"}.`);
      await refreshCanned();
      editCanned(null);
    } catch (error) {
      report(error);
      shortcut.focus();
    }
  }

  async function deleteCanned(canned) {
    clearErrors();
    try {
      await api("DELETE", `/v1/console/canned-responses/${encodeURIComponent(canned.id)}`);
      announce(`Resposta rápida /${canned.shortcut} excluída.`);
      if (state.cannedEditing && state.cannedEditing.id === canned.id) editCanned(null);
      await refreshCanned();
      $("canned-title").focus();
    } catch (error) {
      report(error);
    }
  }

  /** The "/atalho" being typed just before the caret, or null. */
  function cannedQuery() {
    const box = $("reply-text");
    const before = box.value.slice(0, box.selectionStart);
    const found = before.match(/(?:^|\s)\/([\w-]*)$/);
    return found ? { text: found[1].toLowerCase(), start: before.length - found[1].length - 1 } : null;
  }

  function suggestCanned() {
    const query = cannedQuery();
    const matches = query
      ? state.canned.filter((c) => c.shortcut.startsWith(query.text) || c.title.toLowerCase().includes(query.text))
      : [];
    state.cannedMatches = matches;
    state.cannedActive = matches.length ? 0 : -1;
    renderCannedList();
  }

  function renderCannedList() {
    const box = $("reply-text");
    const list = $("canned-list");
    const open = state.cannedMatches.length > 0;
    list.replaceChildren(...state.cannedMatches.map((c, i) => {
      const li = el("li", { attrs: { role: "option", id: `canned-option-${i}`, "aria-selected": String(i === state.cannedActive) } }, [
        el("strong", { text: `/${c.shortcut}` }), " ", el("span", { text: c.title }),
        c.scope === "personal" ? el("span", { cls: "tag", text: "Pessoal" }) : null,
      ]);
      // mousedown, not click: the textarea must keep the focus.
      li.addEventListener("mousedown", (e) => { e.preventDefault(); insertCanned(c); });
      return li;
    }));
    list.hidden = !open;
    if (open) {
      box.setAttribute("aria-activedescendant", `canned-option-${state.cannedActive}`);
      $(`canned-option-${state.cannedActive}`).scrollIntoView({ block: "nearest" });
    } else {
      box.removeAttribute("aria-activedescendant");
    }
  }

  function closeCanned() {
    state.cannedMatches = [];
    state.cannedActive = -1;
    renderCannedList();
  }

  /** The body with the open conversation's values; one without a value
   * stays visible (and blocks sending) until the attendant fills it. */
  function fillVariables(body) {
    const c = state.open || {};
    const values = {
      nome: c.customer && c.customer.name,
      protocolo: c.protocol,
      atendente: state.me && state.me.display_name,
    };
    return body.replace(/\{\{\s*(\w+)\s*\}\}/g, (whole, name) => values[name] || whole);
  }

  function insertCanned(canned) {
    const box = $("reply-text");
    const query = cannedQuery();
    if (!query) return closeCanned();
    const text = fillVariables(canned.body);
    const end = box.selectionStart;
    box.value = box.value.slice(0, query.start) + text + box.value.slice(end);
    closeCanned();
    const unfilled = text.match(/\{\{[^{}]*\}\}/);
    if (unfilled) {
      // Select the first blank so typing replaces it.
      const at = query.start + unfilled.index;
      box.setSelectionRange(at, at + unfilled[0].length);
      announce(`Resposta /${canned.shortcut} inserida. Preencha ${unfilled[0]}.`);
    } else {
      box.setSelectionRange(query.start + text.length, query.start + text.length);
      announce(`Resposta /${canned.shortcut} inserida.`);
    }
    renderCounter();
  }

  function onComposerKey(e) {
    const open = state.cannedMatches.length > 0;
    if (open && (e.key === "ArrowDown" || e.key === "ArrowUp")) {
      e.preventDefault();
      const n = state.cannedMatches.length;
      state.cannedActive = (state.cannedActive + (e.key === "ArrowDown" ? 1 : n - 1)) % n;
      renderCannedList();
    } else if (open && (e.key === "Enter" || e.key === "Tab") && !e.ctrlKey && !e.metaKey && !e.shiftKey) {
      e.preventDefault();
      insertCanned(state.cannedMatches[state.cannedActive]);
    } else if (open && e.key === "Escape") {
      e.preventDefault();
      e.stopPropagation();
      closeCanned();
    } else if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
      $("reply-form").requestSubmit();
    }
  }

  // ---------------------------------------------------------- shortcuts

  const typing = (node) => node && (node.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(node.tagName));

  /** Alt+letter (by physical key: Alt changes the character on macOS) and "?".
   * Alt+N/A/O/M open no browser menu (those are F, E, V, S, B, T, H) and
   * screen readers use Insert/CapsLock, so none collides. */
  function onShortcut(e) {
    if (!state.me || document.querySelector("dialog[open]")) return;
    if (e.altKey && !e.ctrlKey && !e.metaKey && !e.shiftKey) {
      const action = { KeyN: nextWaiting, KeyA: claimOpen, KeyO: focusNote, KeyM: focusComposer }[e.code];
      if (!action) return;
      e.preventDefault();
      if (state.adminView) showView(false);
      action();
    } else if (e.key === "?" && !e.altKey && !e.ctrlKey && !e.metaKey && !typing(e.target)) {
      e.preventDefault();
      openDialog("tpl-shortcuts", (ev) => { ev.preventDefault(); $("shortcuts-dialog").close(); });
    }
  }

  function nextWaiting() {
    const next = state.queue.find((q) => !isOpen(q.conversation_id)) || state.queue[0];
    if (!next) return announce("Ninguém aguardando na fila.");
    openConversation(next.conversation_id);
  }

  function claimOpen() {
    if (!state.open) return announce("Abra uma conversa para assumir.");
    const button = $("act-claim");
    if (button.hidden) return announce("Esta conversa não está aguardando atendente.");
    claim(state.open.conversation_id, button);
  }

  function focusNote() {
    if (!state.open) return announce("Abra uma conversa para escrever uma nota.");
    $("note-text").focus();
  }

  function focusComposer() {
    const box = $("reply-form").hidden ? $("template-name") : $("reply-text");
    if (!state.open || box.closest("[hidden]")) return announce("Não há campo de mensagem nesta conversa.");
    box.focus();
  }

  // ----------------------------------------------------------------- dialogs

  /** Mounts a dialog from its template, opens it modal, focuses its first field. */
  function openDialog(templateId, onSubmit) {
    dialogTrigger = document.activeElement;
    clearErrors();
    const dialog = fromTemplate(templateId);
    document.body.append(dialog);
    dialog.querySelector("form").addEventListener("submit", onSubmit);
    dialog.querySelector("[data-cancel]").addEventListener("click", () => dialog.close());
    dialog.addEventListener("close", () => onDialogClosed(dialog));
    dialog.showModal();
    (dialog.querySelector("input, select, textarea") || dialog.querySelector("[data-cancel]")).focus();
    return dialog;
  }

  /** Focus goes back to what opened the dialog, or the conversation title. */
  function onDialogClosed(dialog) {
    dialog.remove();
    const back = dialogTrigger;
    dialogTrigger = null;
    if (back && back.isConnected && !back.closest("[hidden]")) back.focus();
    else focusFallback();
  }

  /** Transfer targets come from the API: the tenant's people and teams. */
  async function openTransfer() {
    openDialog("tpl-transfer", onTransfer);
    try {
      const [attendants, teams] = await Promise.all([
        allPages("/v1/console/attendants", "attendants"),
        api("GET", "/v1/console/teams"),
      ]);
      state.attendants = attendants;
      state.teams = teams.teams;
      if (!$("transfer-dialog")) return; // closed meanwhile
      const people = attendants
        .filter((a) => a.active && a.id !== state.me.attendant_id)
        .map((a) => el("option", {
          text: `${a.display_name}${a.team ? ` (equipe ${a.team})` : ""}`,
          attrs: { value: a.id },
        }));
      $("transfer-attendant").replaceChildren(el("option", { text: "— Nenhum —", attrs: { value: "" } }), ...people);
      $("transfer-team").replaceChildren(el("option", { text: "— Nenhuma —", attrs: { value: "" } }),
        ...state.teams.map((t) => el("option", { text: t, attrs: { value: t } })));
    } catch (error) {
      report(error, $("transfer-alerts"));
    }
  }

  async function onTransfer(event) {
    event.preventDefault();
    const attendantId = $("transfer-attendant").value;
    const team = $("transfer-team").value;
    if (!attendantId === !team) {
      const message = "Escolha um atendente ou uma equipe (apenas um dos dois).";
      return invalid(message, $("transfer-attendant"), $("transfer-alerts"));
    }
    const body = attendantId ? { attendant_id: attendantId } : { team };
    const note = $("transfer-note").value.trim();
    if (note) body.note = note;
    const target = attendantId
      ? $("transfer-attendant").selectedOptions[0].textContent
      : `equipe ${team}`;
    try {
      await conversationAction("transfer", body, `Conversa transferida para ${target}.`);
      $("transfer-dialog").close();
    } catch (error) {
      report(error, $("transfer-alerts"));
    }
  }

  /** A supervisor takes over someone else's conversation: a transfer to themselves. */
  async function onTakeover() {
    clearErrors();
    try {
      await conversationAction("transfer", { attendant_id: state.me.attendant_id }, "Você assumiu o atendimento desta conversa.");
      const box = $("reply-form").hidden ? $("template-name") : $("reply-text");
      if (!box.closest("[hidden]")) box.focus();
    } catch (error) {
      report(error);
      focusFallback();
    }
  }

  const openClose = () => openDialog("tpl-close", onClose);
  const openInvite = () => {
    openDialog("tpl-invite", onInvite);
    suggestTeams("invite-teams");
  };

  /** The existing teams as suggestions, so "Financeiro" isn't typed anew as "financeiro". */
  async function suggestTeams(listId) {
    try {
      const { teams } = await api("GET", "/v1/console/teams");
      const list = $(listId);
      if (list) list.replaceChildren(...teams.map((t) => el("option", { attrs: { value: t } })));
    } catch (_) {
      // Only suggestions: the field still takes any name.
    }
  }

  async function onClose(event) {
    event.preventDefault();
    const reason = $("close-reason").value.trim();
    if (!reason) return invalid("Informe o motivo do encerramento.", $("close-reason"), $("close-alerts"));
    try {
      await conversationAction("close", { reason }, "Conversa encerrada.");
      $("close-dialog").close();
    } catch (error) {
      report(error, $("close-alerts"));
    }
  }

  // -------------------------------------------------------- attendants (admin)

  async function refreshAttendants() {
    try {
      const attendants = await latest("attendants", () => allPages("/v1/console/attendants", "attendants"));
      if (!attendants) return;
      state.attendants = attendants;
      renderAttendants();
    } catch (error) {
      report(error);
    }
  }

  function renderAttendants() {
    const rows = state.attendants.map((a) => {
      const self = a.id === state.me.attendant_id;
      let toggle = el("span", { cls: "muted", text: "Você" });
      let edit = null;
      if (!self) {
        const change = a.active ? () => confirmDeactivate(a) : () => setActive(a, true);
        toggle = actionButton(a.active ? "Desativar" : "Ativar", a.display_name, change, "small" + (a.active ? " danger" : ""));
        toggle.dataset.key = `active:${a.id}`;
        edit = actionButton("Editar", a.display_name, () => openEditAttendant(a), "small");
        edit.dataset.key = `edit:${a.id}`;
      }
      return el("tr", { cls: a.active ? "" : "inactive" }, [
        el("td", { text: a.display_name }),
        el("td", { text: a.email }),
        el("td", { text: ROLES[a.role] || a.role }),
        el("td", { text: a.team || "—" }),
        el("td", { text: a.active ? "Ativo" : "Inativo" }),
        el("td", {}, edit ? [edit, toggle] : [toggle]),
      ]);
    });
    rebuildList($("attendants-body"), rows);
  }

  function openEditAttendant(attendant) {
    const onSave = async (event) => {
      event.preventDefault();
      clearErrors();
      const body = { role: $("edit-role").value, team: $("edit-team").value.trim() };
      try {
        await api("PATCH", `/v1/console/attendants/${encodeURIComponent(attendant.id)}`, body);
        $("edit-dialog").close();
        announce(`${attendant.display_name}: alterações salvas.`);
        await refreshAttendants();
      } catch (error) {
        report(error, $("edit-alerts"));
      }
    };
    openDialog("tpl-edit-attendant", onSave);
    suggestTeams("edit-teams");
    $("edit-role").value = attendant.role;
    $("edit-team").value = attendant.team || "";
  }

  /** Deactivating cuts someone's access at once: asked before it happens. */
  function confirmDeactivate(attendant) {
    const onConfirm = async (event) => {
      event.preventDefault();
      if (await setActive(attendant, false, $("deactivate-alerts"))) $("deactivate-dialog").close();
    };
    openDialog("tpl-confirm-deactivate", onConfirm);
    $("deactivate-text").textContent = `${attendant.display_name} perde o acesso ao console agora: `
      + "a sessão aberta é encerrada e o login deixa de funcionar até alguém reativar.";
  }

  async function setActive(attendant, active, alerts) {
    clearErrors();
    try {
      await api("PATCH", `/v1/console/attendants/${encodeURIComponent(attendant.id)}`, { active });
      announce(`${attendant.display_name} ${active ? "ativado(a)" : "desativado(a)"}.`);
      await refreshAttendants();
      return true;
    } catch (error) {
      report(error, alerts);
      return false;
    }
  }

  async function onInvite(event) {
    event.preventDefault();
    clearErrors();
    const body = {
      display_name: $("invite-name").value.trim(),
      email: $("invite-email").value.trim(),
      role: $("invite-role").value,
      team: $("invite-team").value.trim() || null,
    };
    if (!body.display_name || !body.email) {
      const field = $(body.display_name ? "invite-email" : "invite-name");
      return invalid("Informe o nome e o e-mail do convidado.", field, $("invite-alerts"));
    }
    try {
      await api("POST", "/v1/console/attendants", body);
      announce(`Convite enviado para ${body.email}.`);
      $("invite-dialog").close();
      await refreshAttendants();
    } catch (error) {
      report(error, $("invite-alerts"));
    }
  }

  // ---- presence and assignment

  const PRESENCE = { online: "Disponível", away: "Ausente", offline: "Offline" };

  /** The header's presence selector (everyone); the load panel and the
      tenant's rules (supervisors; rules: admins). */
  function setupPresence() {
    state.presence = null;
    state.loads = [];
    state.rules = null;
    $("presence-select").disabled = true;
    $("presence-select").onchange = onPresenceChange; // in the header: bound once per sign-in
    $("load-panel").hidden = !oversees();
    $("rules-form").hidden = !isAdmin();
    $("rules-form").addEventListener("submit", onRulesSubmit);
    refreshPresence();
  }

  async function refreshPresence() {
    try {
      const mine = await latest("presence", () => api("GET", "/v1/console/presence"));
      if (!mine) return;
      state.presence = mine;
      $("presence-select").value = mine.chosen;
      $("presence-select").disabled = false; // shown only once known
    } catch (error) {
      report(error);
    }
  }

  async function onPresenceChange(event) {
    const value = event.currentTarget.value;
    clearErrors();
    try {
      state.presence = await api("PUT", "/v1/console/presence", { presence: value });
      announce(`Presença: ${PRESENCE[value]}.`
        + (value === "online" ? " Conversas novas da sua equipe chegam para você." : ""));
      refreshLists(); // coming online may have brought conversations
      refreshLoad();
    } catch (error) {
      report(error);
      if (state.presence) $("presence-select").value = state.presence.chosen;
    }
  }

  async function refreshLoad() {
    if (!oversees()) return;
    try {
      const loaded = await latest("load", () => api("GET", "/v1/console/attendants/load"));
      if (!loaded) return;
      state.loads = loaded.attendants;
      renderLoad();
      if (isAdmin() && !state.rules) {
        state.rules = await api("GET", "/v1/console/assignment-rules");
        $("rules-max").value = String(state.rules.max_conversations);
        $("rules-timeout").value = String(state.rules.answer_timeout_minutes);
      }
    } catch (error) {
      report(error);
    }
  }

  function renderLoad() {
    const active = document.activeElement;
    // Never rewrite a maximum the user is typing.
    if (active && active.tagName === "INPUT" && $("load-body").contains(active)) return;
    const rows = state.loads.map((a) => {
      const input = el("input", {
        attrs: {
          type: "number", min: "1", max: "100", step: "1", value: String(a.max_conversations),
          "aria-label": `Máximo de conversas de ${a.display_name}`,
        },
      });
      input.dataset.key = `max:${a.attendant_id}`;
      const save = actionButton("Salvar", `máximo de ${a.display_name}`, () => saveCapacity(a, input), "small");
      save.dataset.key = `save-max:${a.attendant_id}`;
      // A list, not a table: the admins' Atendentes table already has a row per person.
      return el("li", { cls: a.load >= a.max_conversations ? "full" : "" }, [
        el("strong", { text: a.display_name }),
        el("span", { cls: "muted", text: a.team ? `equipe ${a.team}` : "sem equipe" }),
        el("span", { cls: `presence ${a.presence}`, text: PRESENCE[a.presence] || a.presence }),
        el("span", { cls: "load-count", text: `${a.load} / ${a.max_conversations} conversas` }),
        el("span", { cls: "load-max" }, [input, save]),
      ]);
    });
    rebuildList($("load-body"), rows);
  }

  async function saveCapacity(attendant, input) {
    clearErrors();
    const value = input.value.trim() === "" ? null : Number(input.value);
    try {
      await api("PUT", `/v1/console/attendants/${encodeURIComponent(attendant.attendant_id)}/capacity`,
        { max_conversations: value });
      announce(`${attendant.display_name}: máximo de conversas salvo.`);
      input.blur();
      await refreshLoad();
    } catch (error) {
      report(error);
      input.focus();
    }
  }

  async function onRulesSubmit(event) {
    event.preventDefault();
    clearErrors();
    const body = {
      max_conversations: Number($("rules-max").value),
      answer_timeout_minutes: Number($("rules-timeout").value),
    };
    try {
      state.rules = await api("PUT", "/v1/console/assignment-rules", body);
      announce("Regras de atribuição salvas.");
      await refreshLoad();
    } catch (error) {
      report(error);
    }
  }

  // ------------------------------------------------------------ live updates

  function connectLive() {
    const base = state.config.live_url;
    if (!base || !state.token || !("WebSocket" in window)) return;
    // Browsers cannot set headers on a WebSocket: the token goes in the query.
    const url = base + (base.includes("?") ? "&" : "?") + "token=" + encodeURIComponent(state.token);
    let socket;
    try {
      socket = new WebSocket(url);
    } catch (_) {
      scheduleReconnect();
      return;
    }
    state.socket = socket;
    socket.addEventListener("open", () => {
      // After a reconnect we may have missed events: refetch everything. On
      // the first open, the lists: a handoff may have landed between their
      // first fetch and this moment.
      if (state.socketRetries > 0) refreshAll();
      else refreshLists();
      state.socketRetries = 0;
    });
    socket.addEventListener("message", (event) => {
      let data;
      try { data = JSON.parse(event.data); } catch (_) { return; }
      onLiveEvent(data || {});
    });
    socket.addEventListener("close", () => {
      if (state.socket !== socket) return; // signed out or replaced
      state.socket = null;
      scheduleReconnect();
    });
  }

  function scheduleReconnect() {
    if (!state.token) return;
    state.socketRetries += 1;
    const delay = Math.min(30000, 1000 * 2 ** Math.min(state.socketRetries, 5)) * (0.75 + Math.random() / 2);
    const timer = window.setTimeout(() => { if (state.token && !state.socket) connectLive(); }, delay);
    state.timers.push(timer);
  }

  function onLiveEvent(event) {
    const id = event.conversation_id;
    if (event.type === "message.status") {
      // Delivered/read: only the open conversation shows it (in place).
      if (id && isOpen(id)) reloadOpen();
    } else if (event.type === "queue.changed") {
      refreshLists();
      refreshLoad();
      if (id && isOpen(id)) reloadOpen();
    } else if (event.type === "presence.changed") {
      refreshLoad();
    } else if (event.type === "conversation.updated") {
      if (id && isOpen(id)) {
        reloadOpen();
        return;
      }
      const known = state.mine.find((c) => c.conversation_id === id) || state.all.find((c) => c.conversation_id === id);
      if (!known) {
        refreshMine();
        return;
      }
      state.news.add(id);
      rerenderLists();
      if (state.mine.some((c) => c.conversation_id === id)) announce(`Nova atividade na conversa de ${known.customer}`);
    }
  }

  // ---- composer that knows WhatsApp: who holds the conversation, the 24-hour
  // window, approved templates with their variables and charge, typing indicator

  const TYPING_EVERY_MS = 20_000; // Meta shows it up to 25 s; the API throttles too
  const TEMPLATE_CATEGORIES = { MARKETING: "marketing", UTILITY: "utilidade", AUTHENTICATION: "autenticação" };
  const TEMPLATE_STATUSES = {
    APPROVED: "aprovado", PENDING: "em análise", REJECTED: "rejeitado", PAUSED: "pausado", DISABLED: "desativado",
  };
  const TEMPLATE_VARIABLE = /\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g;

  function bindComposer() {
    $("template-form").addEventListener("submit", onTemplateSend);
    $("template-name").addEventListener("change", renderTemplateChoice);
    $("template-refresh").addEventListener("click", () => loadTemplates(true));
    $("reply-text").addEventListener("input", onComposerTyping);
    // A sent message hides the indicator at WhatsApp: the next keystroke shows it again.
    $("reply-form").addEventListener("submit", () => {
      if (state.open) delete state.typingSentAt[state.open.conversation_id];
      $("typing-note").hidden = true;
    });
  }

  /** "Quem atende" in the header, whatever the state. */
  function renderHolder(c) {
    const mine = c.assigned_attendant_id === state.me.attendant_id;
    let label = "Quem atende: ";
    let who;
    if (c.state === "bot") who = "o bot";
    else if (c.state === "waiting_human") who = c.team ? `ninguém ainda (fila da equipe ${c.team})` : "ninguém ainda (fila de espera)";
    else if (c.state === "with_human") who = mine ? "você" : c.attendant || "outro atendente";
    else {
      label = "Quem atendeu: ";
      who = mine ? "você" : c.attendant || "o bot";
    }
    $("conv-holder").replaceChildren(document.createTextNode(label), el("strong", { text: who }));
  }

  function closedWindowText(c) {
    return c.window_ends_at
      ? `Janela de 24 h fechada em ${timeLabel(c.window_ends_at)}`
      : "Janela de 24 h fechada: o cliente ainda não escreveu";
  }

  /** The template form, when shown: the window's state and the templates for this
   * conversation. The window's end reloads the conversation (free text then blocked). */
  function renderComposer(c) {
    const note = $("typing-note");
    if (note.dataset.for !== c.conversation_id || $("reply-form").hidden) note.hidden = true;
    window.clearTimeout(state.windowTimer);
    state.windowTimer = null;
    const left = c.window_open && c.window_ends_at ? new Date(c.window_ends_at).getTime() - Date.now() : -1;
    if (left > 0 && left < 2 ** 31 - 1000) {
      state.windowTimer = window.setTimeout(() => { if (isOpen(c.conversation_id)) reloadOpen(); }, left + 1000);
    }
    if ($("template-form").hidden) return;
    $("template-window").textContent = c.window_open
      ? "O WhatsApp recusou a resposta livre: envie um modelo aprovado."
      : `${closedWindowText(c)}: texto livre bloqueado. Envie um modelo aprovado.`;
    $("template-refresh").hidden = !oversees();
    if (!state.templates || state.templates.for !== c.conversation_id) loadTemplates(false);
  }

  /** The tenant's templates (cached by the API; "Atualizar modelos" reads Meta again). */
  async function loadTemplates(refresh) {
    const id = state.open && state.open.conversation_id;
    if (!id) return;
    state.templates = { for: id, catalog: { templates: [] } }; // one load per conversation
    const path = `/v1/console/templates${refresh ? "/refresh" : ""}?conversation=${encodeURIComponent(id)}`;
    const button = $("template-refresh");
    button.disabled = refresh;
    try {
      const catalog = await latest("templates", () => api(refresh ? "POST" : "GET", path));
      if (!catalog || !isOpen(id)) return;
      state.templates = { for: id, catalog };
      renderTemplates();
      if (refresh) announce(`Modelos atualizados: ${catalog.templates.filter((t) => t.approved).length} aprovados.`);
    } catch (error) {
      report(error);
    } finally {
      button.disabled = false;
    }
  }

  function renderTemplates() {
    const select = $("template-name");
    const previous = select.value;
    const { templates, stale, fetched_at: fetchedAt } = state.templates.catalog;
    const approved = templates.some((t) => t.approved);
    const options = [el("option", { text: approved ? "Escolha um modelo" : "Nenhum modelo aprovado", attrs: { value: "" } })];
    for (const t of templates) {
      const category = TEMPLATE_CATEGORIES[t.category] || t.category.toLowerCase();
      // Supervisors also see the ones not approved, greyed, with their status.
      const status = t.approved ? "" : ` — ${TEMPLATE_STATUSES[t.status] || t.status.toLowerCase()}`;
      const option = el("option", { text: `${t.name} (${category})${status}`, attrs: { value: `${t.name}|${t.language}` } });
      option.disabled = !t.approved;
      options.push(option);
    }
    select.replaceChildren(...options);
    if ([...select.options].some((o) => o.value === previous && !o.disabled)) select.value = previous;
    renderTemplateChoice();
    if (stale) $("template-about").textContent = `WhatsApp indisponível: lista de modelos de ${timeLabel(fetchedAt)}.`;
  }

  function chosenTemplate() {
    const value = $("template-name").value;
    if (!value || !state.templates) return null;
    return state.templates.catalog.templates.find((t) => `${t.name}|${t.language}` === value) || null;
  }

  /** The chosen template's category, variables (a field each), preview and charge. */
  function renderTemplateChoice() {
    const t = chosenTemplate();
    const key = t ? `${t.name}|${t.language}` : "";
    const vars = $("template-vars");
    const typed = {};
    if (vars.dataset.for === key) for (const input of vars.querySelectorAll("input")) typed[input.dataset.param] = input.value;
    vars.replaceChildren(el("legend", { text: "Variáveis do modelo" }));
    vars.dataset.for = key;
    vars.hidden = !t || !t.parameters.length;
    for (const name of t ? t.parameters : []) {
      const id = `template-var-${name}`;
      const input = el("input", { attrs: { id, type: "text", autocomplete: "off", maxlength: "1024", required: "" } });
      input.dataset.param = name;
      input.value = typed[name] || "";
      input.addEventListener("input", renderTemplatePreview);
      vars.append(el("div", { cls: "field" }, [el("label", { text: `Variável {{${name}}}`, attrs: { for: id } }), input]));
    }
    const count = t ? t.parameters.length : 0;
    $("template-about").textContent = t
      ? `Categoria: ${TEMPLATE_CATEGORIES[t.category] || t.category.toLowerCase()} · ${count ? `${count} ${count === 1 ? "variável" : "variáveis"}` : "sem variáveis"}`
      : "";
    const charge = $("template-charge");
    charge.hidden = !t;
    charge.textContent = t ? t.charge.note : "";
    charge.classList.toggle("charged", Boolean(t && t.charge.charged));
    renderTemplatePreview();
  }

  function templateValues() {
    const values = {};
    for (const input of $("template-vars").querySelectorAll("input")) values[input.dataset.param] = input.value.trim();
    return values;
  }

  /** What the customer will read, the variables filled so far. */
  function renderTemplatePreview() {
    const t = chosenTemplate();
    const preview = $("template-preview");
    preview.hidden = !t || !t.body;
    if (preview.hidden) return;
    const values = templateValues();
    preview.textContent = "Prévia: " + t.body.replace(TEMPLATE_VARIABLE, (whole, name) => values[name] || whole);
  }

  async function onTemplateSend(event) {
    event.preventDefault();
    const t = chosenTemplate();
    if (!t) return invalid("Escolha um modelo aprovado.", $("template-name"));
    const values = templateValues();
    // The API checks too and sends nothing with a blank; here the field is pointed at.
    const missing = t.parameters.find((name) => !values[name]);
    if (missing) return invalid(`Preencha a variável {{${missing}}} do modelo antes de enviar.`, $(`template-var-${missing}`));
    const body = { template: { name: t.name, language: t.language, parameters: values } };
    if (await send(body, "Modelo enviado", $("template-name"))) {
      $("template-name").value = "";
      renderTemplateChoice();
    }
  }

  /** The holder types in an open window: Meta's typing indicator, at most every
   * 20 s per conversation. Fire and forget: the API logs a failure. */
  function onComposerTyping() {
    const c = state.open;
    if (!c || c.state !== "with_human" || !c.window_open || c.assigned_attendant_id !== state.me.attendant_id) return;
    if (!$("reply-text").value.trim()) return;
    if (Date.now() - (state.typingSentAt[c.conversation_id] || 0) < TYPING_EVERY_MS) return;
    const id = c.conversation_id;
    state.typingSentAt[id] = Date.now();
    api("POST", `/v1/console/conversations/${encodeURIComponent(id)}/typing`)
      .then((signal) => { if (signal && signal.outcome === "sent" && isOpen(id)) showTypingNote(id); })
      .catch(() => {});
  }

  /** What the customer sees meanwhile (WhatsApp hides it after 25 s or a message). */
  function showTypingNote(id) {
    const note = $("typing-note");
    note.textContent = "O cliente vê “digitando…” no WhatsApp.";
    note.dataset.for = id;
    note.hidden = false;
    window.clearTimeout(state.typingNoteTimer);
    state.typingNoteTimer = window.setTimeout(() => { note.hidden = true; }, 25_000);
  }

  // ---- media both ways
  // Files come from the API with the bearer token (fetch -> blob -> object
  // URL; the CSP allows blob: images and media), never from Meta or a map
  // site. Each fetch is an audited access, so a file is fetched once per page.

  const MAX_FILE_BYTES = 4 * 1024 * 1024; // the API's limit (API Gateway's payload)
  const SEND_TYPES = { "image/jpeg": "Imagem", "image/png": "Imagem", "application/pdf": "PDF", "audio/ogg": "Áudio" };

  /** The file's type as the API takes it (browsers name Opus files differently). */
  function sendType(file) {
    const type = (file.type || "").split(";")[0].toLowerCase();
    if (SEND_TYPES[type]) return type;
    if (/\.(ogg|opus)$/i.test(file.name) || type === "audio/opus") return "audio/ogg";
    return type;
  }

  function mediaPath(m) {
    return `/v1/console/conversations/${encodeURIComponent(state.open.conversation_id)}/messages/${encodeURIComponent(m.id)}/media`;
  }

  /** A message's file as a blob: URL (cached for the page's life). */
  async function mediaUrl(path, id) {
    if (state.mediaUrls.has(id)) return state.mediaUrls.get(id);
    const response = await fetch(API_BASE + path, {
      headers: { Authorization: "Bearer " + state.token, Accept: "*/*" }, cache: "no-store",
    });
    if (!response.ok) {
      let data = null;
      try { data = await response.json(); } catch (_) { data = null; }
      throw new ApiError(response.status, (data && data.error && data.error.code) || "ERRO",
        (data && data.error && data.error.message) || "Não foi possível abrir o arquivo.");
    }
    const url = URL.createObjectURL(await response.blob());
    state.mediaUrls.set(id, url);
    return url;
  }

  function forgetMedia() {
    for (const url of state.mediaUrls.values()) URL.revokeObjectURL(url);
    state.mediaUrls.clear();
  }

  function mediaName(m) {
    const who = m.direction === "inbound" ? "do cliente" : "enviado";
    if (m.type === "sticker") return `Figurinha ${m.direction === "inbound" ? "do cliente" : "enviada"}`;
    if (m.type === "image") return m.body ? `Imagem: ${m.body}` : `Imagem ${m.direction === "inbound" ? "do cliente" : "enviada"}`;
    if (m.type === "audio") return m.media.voice ? `Mensagem de voz ${who === "enviado" ? "enviada" : who}` : `Áudio ${who}`;
    if (m.type === "video") return `Vídeo ${who}`;
    return `Documento ${m.media.filename || ""}`.trim();
  }

  /** The file or place of a message, or null (text shows as text). */
  function mediaContent(m) {
    if (m.location) return locationContent(m.location);
    if (!m.media || !state.open) return null;
    const box = el("div", { cls: "msg-media" });
    const path = mediaPath(m);
    const name = mediaName(m);
    const failed = (error) => box.replaceChildren(el("p", { cls: "msg-body", text: `${name}: ${error.message}` }));
    if (m.type === "image" || m.type === "sticker") {
      const img = el("img", { cls: m.type, attrs: { alt: name } });
      box.append(el("span", { cls: "loading", text: `Carregando ${MEDIA[m.type].toLowerCase()}…` }));
      mediaUrl(path, m.id).then((url) => {
        // Drawn after the message was placed: keep the latest in view.
        const log = $("conv-messages");
        const stick = log.scrollHeight - log.scrollTop - log.clientHeight < 80;
        img.addEventListener("load", () => { if (stick) log.scrollTop = log.scrollHeight; }, { once: true });
        img.src = url;
        box.replaceChildren(img);
      }, failed);
    } else if (m.type === "audio") {
      const audio = el("audio", { attrs: { controls: "", preload: "metadata", "aria-label": name } });
      mediaUrl(path, m.id).then((url) => { audio.src = url; }, failed);
      box.append(audio);
    } else if (m.type === "video") {
      // Videos can be large: fetched when asked for.
      const load = actionButton("Carregar vídeo", `(${name})`, () => {
        load.disabled = true;
        mediaUrl(path, m.id).then((url) => {
          const video = el("video", { attrs: { controls: "", "aria-label": name, src: url } });
          box.replaceChildren(video);
          video.focus();
        }, failed);
      }, "small");
      box.append(load);
    } else {
      const filename = m.media.filename || "documento";
      const download = actionButton(`Baixar ${filename}`, "(documento)", async () => {
        try {
          const url = await mediaUrl(path, m.id);
          const a = el("a", { attrs: { href: url, download: filename } });
          document.body.append(a);
          a.click();
          a.remove();
          announce(`Download de ${filename} iniciado.`);
        } catch (error) {
          report(error);
        }
      }, "small file");
      box.append(download);
    }
    return box;
  }

  /** A shared place: its name and coordinates, and a link to a map (no tiles here). */
  function locationContent(loc) {
    const hasPoint = loc.latitude != null && loc.longitude != null;
    const coords = hasPoint ? `${Number(loc.latitude).toFixed(5)}, ${Number(loc.longitude).toFixed(5)}` : "";
    const words = [loc.name, loc.address, coords && `(${coords})`].filter(Boolean).join(" — ");
    const p = el("p", { cls: "msg-body msg-location", text: `Localização: ${words || "sem detalhes"}` });
    if (hasPoint) {
      const lat = encodeURIComponent(loc.latitude);
      const lon = encodeURIComponent(loc.longitude);
      p.append(el("a", {
        text: "Abrir no mapa",
        attrs: {
          href: `https://www.openstreetmap.org/?mlat=${lat}&mlon=${lon}#map=17/${lat}/${lon}`,
          target: "_blank", rel: "noopener noreferrer",
        },
      }, [el("span", { cls: "sr-only", text: " (abre em nova aba)" })]));
    }
    return p;
  }

  /** "Anexar arquivo" shows (or folds) the file fields; opening focuses the picker. */
  function toggleAttach(open) {
    const fields = $("attach-fields");
    const show = open === undefined ? fields.hidden : open;
    // The fields take room from the timeline: keep its latest message in view.
    const log = $("conv-messages");
    const stick = log.scrollHeight - log.scrollTop - log.clientHeight < 80;
    fields.hidden = !show;
    if (stick) log.scrollTop = log.scrollHeight;
    $("attach-toggle").setAttribute("aria-expanded", String(show));
    if (show) $("attach-file").focus();
  }

  /** "Enviar arquivo": checked here for a quick answer, and again by the API. */
  async function onAttach(event) {
    event.preventDefault();
    const input = $("attach-file");
    const file = input.files && input.files[0];
    if (!file) return invalid("Escolha um arquivo para enviar.", input);
    const type = sendType(file);
    if (!SEND_TYPES[type]) return invalid("Tipo de arquivo não aceito. Envie imagem JPEG ou PNG, PDF ou áudio OGG (Opus).", input);
    if (file.size > MAX_FILE_BYTES) {
      return invalid(`O arquivo tem ${fmt.format(Math.ceil(file.size / 1024))} KB e o limite é 4 MB.`, input);
    }
    const caption = $("attach-caption").value.trim();
    const id = state.open.conversation_id;
    const query = `?filename=${encodeURIComponent(file.name)}&caption=${encodeURIComponent(caption)}`;
    const button = event.currentTarget.querySelector("button[type=submit]");
    button.disabled = true;
    clearErrors();
    try {
      let response;
      try {
        response = await fetch(`${API_BASE}/v1/console/conversations/${encodeURIComponent(id)}/media${query}`, {
          method: "POST", body: file, cache: "no-store",
          headers: { "Content-Type": type, Accept: "application/json", Authorization: "Bearer " + state.token },
        });
      } catch (_) {
        throw new ApiError(0, "REDE", "Sem conexão com o servidor. Verifique a rede e tente novamente.");
      }
      let data = null;
      try { data = await response.json(); } catch (_) { data = null; }
      if (!response.ok) {
        const err = (data && data.error) || {};
        throw new ApiError(response.status, err.code || "ERRO", err.message || "Não foi possível enviar o arquivo.");
      }
      input.value = "";
      $("attach-caption").value = "";
      toggleAttach(false);
      $("attach-toggle").focus();
      announce(`${SEND_TYPES[type]} enviado(a): ${file.name}`);
      if (isOpen(id) && data) {
        state.open.messages = state.open.messages.concat([data]);
        renderMessages(state.open.messages);
        $("conv-messages").scrollTop = $("conv-messages").scrollHeight; // what was just sent
      }
    } catch (error) {
      report(error);
      if (error.code === "JANELA_24H_ENCERRADA") {
        state.forceTemplate = true;
        renderConversation();
      } else {
        input.focus();
      }
    } finally {
      button.disabled = false;
    }
  }

  // ---- search

  const MATCHED_BY = {
    name: "nome", phone: "telefone", username: "@usuário", protocol: "protocolo",
    label: "etiqueta", text: "mensagem",
  };

  function bindSearch() {
    $("search-form").addEventListener("submit", onSearch);
    $("search-q").addEventListener("keydown", (e) => {
      if (e.key === "Escape") { e.preventDefault(); clearSearch(true); }
    });
    $("search-more").addEventListener("click", () => runSearch(true));
  }

  function onSearch(e) {
    e.preventDefault();
    if (!$("search-q").value.trim()) { clearSearch(false); return; }
    runSearch(false);
  }

  /** Runs the search (or its next page): the results replace the lists. */
  async function runSearch(more) {
    clearErrors();
    const q = more ? state.search.q : $("search-q").value.trim();
    const label = more ? state.search.label : state.labelFilter;
    const params = new URLSearchParams({ q });
    if (label) params.set("label", label);
    if (more) params.set("cursor", state.search.next);
    try {
      const page = await api("GET", `/v1/console/search?${params}`);
      const results = more ? state.search.results.concat(page.results) : page.results;
      state.search = { q, label, results, next: page.next_cursor };
    } catch (error) {
      report(error);
      $("search-q").focus();
      return;
    }
    renderSearch();
    const n = state.search.results.length;
    announce(n ? `${fmt.format(n)} conversa(s) encontrada(s).` : "Nenhuma conversa encontrada.");
  }

  /** Esc or an empty search: the lists come back. */
  function clearSearch(focusBox) {
    state.search = null;
    $("search-q").value = "";
    $("search-panel").hidden = true;
    document.querySelector(".sidebar").classList.remove("searching");
    if (focusBox) { $("search-q").focus(); announce("Busca limpa."); }
  }

  /** The excerpt as text, the matched words in <mark>: never HTML. */
  function snippetLine(parts) {
    if (!parts || !parts.length) return null;
    return el("p", { cls: "snippet" }, parts.map((p) => (p.hit ? el("mark", { text: p.text }) : document.createTextNode(p.text))));
  }

  function renderSearch() {
    const items = state.search.results.map((r) => {
      const open = actionButton("Abrir", `conversa de ${r.customer}`, () => openConversation(r.conversation_id, open), "small");
      open.dataset.key = `search:${r.conversation_id}`;
      if (isOpen(r.conversation_id)) open.setAttribute("aria-current", "true");
      const contact = r.phone || (r.username ? `@${r.username}` : null);
      const li = el("li", { cls: "card" + (isOpen(r.conversation_id) ? " current" : "") }, [
        el("p", { cls: "card-title" }, [el("strong", { text: r.customer })]),
        el("p", { cls: "muted", text: [STATES[r.state] || r.state, contact, r.attendant, timeLabel(r.last_activity_at)].filter(Boolean).join(" · ") }),
        el("p", { cls: "muted", text: `Encontrada por: ${MATCHED_BY[r.matched_by] || r.matched_by}` }),
        snippetLine(r.snippet),
        labelChips(r.labels),
        el("div", { cls: "card-actions" }, [open]),
      ]);
      li.dataset.id = r.conversation_id;
      return li;
    });
    rebuildList($("search-list"), items);
    $("search-empty").hidden = items.length > 0;
    $("search-count").textContent = items.length ? `(${items.length})` : "";
    $("search-more").hidden = !state.search.next;
    $("search-panel").hidden = false;
    document.querySelector(".sidebar").classList.add("searching");
  }

  // -------------------------------------------------------------------- boot

  /** Handlers of the signed-in screen (mounted fresh at every sign-in). */
  // ---- contact panel ("Ficha do cliente"; issue 14, point 3)

  const CONTACT_KINDS = { name: "Nome", cpf: "CPF", email: "E-mail", phone: "Telefone", address: "Endereço", cep: "CEP" };
  const dayLabel = (iso) => (iso ? new Date(iso).toLocaleDateString("pt-BR", { timeZone: "America/Sao_Paulo" }) : "—");

  /** Another conversation starts with its customer's panel closed. */
  function resetContact() {
    state.contact = null;
    $("contact-body").hidden = true;
    $("contact-body").replaceChildren();
    $("contact-toggle").setAttribute("aria-expanded", "false");
    $("contact-toggle").textContent = "Ver ficha do cliente";
  }

  /** Opening loads the panel (the API records who looked); closing forgets it. */
  async function toggleContact() {
    if (state.contact) { resetContact(); return; }
    if (!state.open) return;
    const id = state.open.conversation_id;
    clearErrors();
    try {
      const panel = await api("GET", `/v1/console/conversations/${encodeURIComponent(id)}/contact`);
      if (!isOpen(id)) return;
      state.contact = panel;
      renderContact(panel);
      $("contact-body").hidden = false;
      $("contact-toggle").setAttribute("aria-expanded", "true");
      $("contact-toggle").textContent = "Ocultar ficha do cliente";
    } catch (error) { report(error); }
  }

  function pastConversation(c) {
    const when = c.closed_at ? `${dayLabel(c.opened_at)} a ${dayLabel(c.closed_at)}` : `desde ${dayLabel(c.opened_at)}`;
    const bits = [c.current ? "Esta conversa" : null, c.outcome, c.attendant && !c.outcome.includes(c.attendant) ? `atendida por ${c.attendant}` : null,
      c.csat_score ? `avaliação ${c.csat_score} de 5` : null].filter(Boolean);
    return el("li", { cls: c.current ? "current" : "" }, [
      el("span", { text: `${when}: ${bits.join(" · ")}` }),
      c.labels.length ? labelChips(c.labels) : null,
    ]);
  }

  function renderContact(p) {
    const facts = [["Nome", p.name]];
    if (p.phone) facts.push(["Telefone", phoneLabel(p.phone)]);
    if (p.username) facts.push(["Usuário", "@" + p.username]);
    facts.push(["Consentimento", p.consent.label + (p.consent.recorded_at ? ` em ${dayLabel(p.consent.recorded_at)}` : "")]);
    facts.push(["Cliente desde", dayLabel(p.first_seen_at)]);
    const given = p.data.map((d) => el("li", { text: `${CONTACT_KINDS[d.kind] || d.kind}: ${d.value}` }));
    const body = [
      el("dl", {}, facts.flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { text: v })])),
      el("h4", { text: "Dados informados", attrs: { id: "contact-data-title" } }),
      given.length
        ? el("ul", { attrs: { "aria-labelledby": "contact-data-title" } }, given)
        : el("p", { cls: "muted", text: "Nenhum dado guardado." }),
      p.cpf_masked && p.data.some((d) => d.kind === "cpf") ? el("p", { cls: "hint", text: "CPF mascarado: o completo só para administradores." }) : null,
      el("h4", { text: "Conversas", attrs: { id: "contact-past-title" } }),
      el("ol", { attrs: { "aria-labelledby": "contact-past-title" } }, p.conversations.map(pastConversation)),
    ];
    if (p.lgpd_actions) {
      body.push(el("h4", { text: "LGPD" }), el("div", { cls: "lgpd-actions" }, [
        actionButton("Exportar dados", `de ${p.name}`, () => confirmLgpd(p, "export"), "small"),
        actionButton("Apagar dados", `de ${p.name}`, () => confirmLgpd(p, "erasure"), "danger small"),
        el("a", { text: "Abrir em Privacidade (LGPD)", attrs: { href: "console/privacy.html" } }),
      ]));
    }
    $("contact-body").replaceChildren(...body.filter(Boolean));
  }

  /** The Privacidade page's export and erasure, asked before they happen. */
  function confirmLgpd(p, kind) {
    const erase = kind === "erasure";
    const onConfirm = async (event) => {
      event.preventDefault();
      clearErrors();
      try {
        const done = await api("POST", `/v1/admin/customers/${encodeURIComponent(p.customer_id)}/${kind}`);
        $("lgpd-dialog").close();
        if (erase) {
          announce(`Dados de ${p.name} apagados (comprovante ${String(done.id).split("-")[0].toUpperCase()}).`);
          resetContact();
          await reloadOpen();
        } else {
          announce(done.customer_notified ? "Cópia dos dados enviada ao cliente pelo WhatsApp." : "Cópia dos dados pronta: entregue os links pela página Privacidade (LGPD).");
        }
      } catch (error) { report(error, $("lgpd-alerts")); }
    };
    openDialog("tpl-confirm-lgpd", onConfirm);
    $("lgpd-title").textContent = erase ? "Apagar os dados do cliente?" : "Exportar os dados do cliente?";
    $("lgpd-text").textContent = erase
      ? `Os dados de ${p.name} (conversas, mensagens, arquivos, contatos e a memória do assistente) serão apagados de todos os lugares. Não é possível desfazer.`
      : `Vamos gerar a cópia dos dados de ${p.name}. Se houver um pedido de acesso em aberto, os links vão para o cliente pelo WhatsApp.`;
    $("lgpd-ok").textContent = erase ? "Apagar definitivamente" : "Exportar dados";
    $("lgpd-ok").className = erase ? "danger" : "primary";
  }

  // ---- end of contact panel

  function bindApp() {
    $("act-claim").addEventListener("click", (e) => claim(state.open.conversation_id, e.currentTarget));
    $("act-takeover").addEventListener("click", onTakeover);
    $("act-transfer").addEventListener("click", openTransfer);
    $("act-return").addEventListener("click", onReturnToBot);
    $("act-close").addEventListener("click", openClose);
    $("reply-form").addEventListener("submit", onReply);
    $("reply-text").addEventListener("keydown", onComposerKey);
    $("reply-text").addEventListener("input", () => { renderCounter(); suggestCanned(); });
    $("reply-text").addEventListener("blur", () => window.setTimeout(closeCanned, 150));
    $("canned-form").addEventListener("submit", onCannedSubmit);
    $("canned-cancel").addEventListener("click", () => editCanned(null));
    $("view-switch").onclick = onViewSwitch; // in the header: bound once per sign-in
    bindComposer();
    $("attach-form").addEventListener("submit", onAttach);
    $("attach-toggle").addEventListener("click", () => toggleAttach());
    $("conv-older").addEventListener("click", loadOlder);
    $("invite-open").addEventListener("click", openInvite);
    $("note-form").addEventListener("submit", onNote);
    $("label-add-btn").addEventListener("click", () => setLabel($("label-add").value, true));
    $("label-filter").addEventListener("change", onFilter);
    $("label-form").addEventListener("submit", onCreateLabel);
    $("contact-toggle").addEventListener("click", toggleContact); // contact panel
    bindSearch();
  }

  async function boot() {
    document.addEventListener("keydown", onShortcut);
    $("sign-out").addEventListener("click", () => { signOut(); announce("Você saiu do console."); });
    try {
      state.config = (await api("GET", "/v1/console/config")) || { live_url: null };
    } catch (_) {
      state.config = { live_url: null }; // live updates are optional: polling covers
    }
    const token = sessionStorage.getItem(TOKEN_KEY);
    const expiresAt = Number(sessionStorage.getItem(EXPIRY_KEY) || 0);
    if (token && expiresAt > Date.now()) await startApp(token, expiresAt, false);
    else showSignIn(token ? "Sua sessão expirou. Entre novamente." : null);
  }

  document.addEventListener("DOMContentLoaded", boot);
})();
