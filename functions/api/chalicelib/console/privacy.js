/* Atende — Privacidade (LGPD): the admins' page for data-subject requests,
 * customer lookup, export, erasure and the consent text's versions.
 *
 * Uses the console's session (sessionStorage, same origin) and the admin API
 * under /v1/admin. Every action on a customer's data asks for confirmation
 * first; every text goes in with textContent (never HTML). */
(() => {
  "use strict";

  const { $, token, say, fail, api } = window.AtendePage; // admin-page.js
  const stamp = new Intl.DateTimeFormat("pt-BR", { dateStyle: "short", timeStyle: "short", timeZone: "America/Sao_Paulo" });
  const day = new Intl.DateTimeFormat("pt-BR", { dateStyle: "short", timeZone: "America/Sao_Paulo" });
  const KINDS = { access: "Acesso aos dados", erasure: "Exclusão dos dados" };
  const STATUSES = { open: "Aberto", in_progress: "Em andamento", done: "Concluído", rejected: "Recusado" };
  const OPENED_BY = { customer: "Cliente, no WhatsApp", system: "Sistema", api_key: "Integração", operator: "Operação" };

  /** "5511987654321" → "+55 11 98765-4321" (other numbers as they are). */
  function phone(digits) {
    if (!digits) return "—";
    const m = /^55(\d{2})(\d{4,5})(\d{4})$/.exec(digits);
    return m ? `+55 ${m[1]} ${m[2]}-${m[3]}` : digits;
  }
  const when = (iso) => (iso ? stamp.format(new Date(iso)) : "—");

  function cell(tag, content, className) {
    const c = document.createElement(tag);
    if (content instanceof Node) c.append(content);
    else c.textContent = content == null ? "—" : String(content);
    if (className) c.className = className;
    return c;
  }

  function table(caption, headers, rows, empty) {
    const t = document.createElement("table");
    t.append(cell("caption", caption));
    const head = document.createElement("thead");
    const hr = document.createElement("tr");
    for (const h of headers) { const th = cell("th", h); th.scope = "col"; hr.append(th); }
    head.append(hr);
    const body = document.createElement("tbody");
    if (!rows.length) {
      const tr = document.createElement("tr");
      const td = cell("td", empty);
      td.colSpan = headers.length;
      tr.append(td);
      body.append(tr);
    }
    for (const row of rows) body.append(row);
    t.append(head, body);
    return t;
  }

  function button(label, className, onClick) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = className;
    b.textContent = label;
    b.addEventListener("click", onClick);
    return b;
  }

  /** The confirmation step: resolves true only on the explicit button. */
  function confirmStep(title, text, okLabel, danger) {
    const dialog = $("confirm");
    $("confirm-title").textContent = title;
    $("confirm-text").textContent = text;
    $("confirm-ok").textContent = okLabel;
    $("confirm-ok").className = danger ? "danger" : "primary";
    dialog.returnValue = "cancel";
    dialog.showModal();
    $("confirm-cancel").focus();
    return new Promise((resolve) => {
      dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
    });
  }

  // -- actions on a customer ------------------------------------------------

  async function exportData(customer) {
    const ok = await confirmStep(
      "Exportar os dados do cliente?",
      `Vamos gerar a cópia dos dados de ${customer.name || "este cliente"} (página, planilha e JSON). ` +
        "Se houver um pedido de acesso em aberto, os links vão para o cliente pelo WhatsApp e o pedido é concluído.",
      "Exportar dados", false);
    if (!ok) return;
    fail("");
    say("Preparando a cópia dos dados…");
    try {
      const done = await api("POST", `/v1/admin/customers/${customer.id}/export`);
      showExport(customer, done);
      say(done.customer_notified ? "Cópia enviada ao cliente pelo WhatsApp." : "Cópia dos dados pronta.");
      await loadRequests();
    } catch (error) { say(""); fail(error.message); }
  }

  function showExport(customer, done) {
    const box = $("export-result") || document.createElement("div");
    box.id = "export-result";
    box.className = "result";
    box.replaceChildren();
    const title = cell("p", `Cópia dos dados de ${customer.name || "cliente"} — válida até ${when(done.expires_at)}.`);
    box.append(title);
    if (done.customer_notified) {
      box.append(cell("p", "Os links foram enviados ao cliente pelo WhatsApp. Não abra os links: cada um abre uma única vez."));
    } else {
      if (done.notice_error) box.append(cell("p", `Aviso ao cliente não enviado: ${done.notice_error}`, "warning"));
      box.append(cell("p", "Entregue estes links ao cliente. Cada um abre uma única vez:"));
      const list = document.createElement("ul");
      for (const [label, url] of [["Página para ler", done.html_url], ["Planilha", done.xlsx_url], ["Arquivo JSON", done.json_url]]) {
        const li = document.createElement("li");
        const input = document.createElement("input");
        input.readOnly = true;
        input.value = url;
        input.setAttribute("aria-label", label);
        li.append(cell("span", label + ": "), input);
        list.append(li);
      }
      box.append(list);
    }
    $("results").before(box);
  }

  async function erase(customer) {
    const ok = await confirmStep(
      "Apagar os dados do cliente?",
      `Os dados de ${customer.name || "este cliente"} (conversas, mensagens, arquivos, contatos e a memória do assistente) ` +
        "serão apagados de todos os lugares. Ficam só o que a lei exige guardar e o comprovante da exclusão. Não é possível desfazer.",
      "Apagar definitivamente", true);
    if (!ok) return;
    fail("");
    say("Apagando os dados…");
    try {
      const proof = await api("POST", `/v1/admin/customers/${customer.id}/erasure`);
      const told = proof.request_id
        ? (proof.notice_error ? ` Aviso ao cliente não enviado: ${proof.notice_error}` : " O cliente foi avisado pelo WhatsApp.")
        : "";
      say(`Dados apagados (comprovante ${proof.id.split("-")[0].toUpperCase()}).${told}`);
      await Promise.all([loadRequests(), rerunSearch()]);
    } catch (error) { say(""); fail(error.message); }
  }

  async function registerErasure(customer) {
    const ok = await confirmStep(
      "Registrar pedido de exclusão?",
      `Registre aqui quando ${customer.name || "o cliente"} pediu a exclusão por outro canal (telefone, e-mail, loja). O prazo de 15 dias começa agora.`,
      "Registrar pedido", false);
    if (!ok) return;
    fail("");
    try {
      const opened = await api("POST", `/v1/admin/customers/${customer.id}/lgpd-requests`, { kind: "erasure" });
      say(opened.new ? `Pedido registrado (protocolo ${opened.protocol}).` : `Já existe um pedido em aberto (protocolo ${opened.protocol}).`);
      await Promise.all([loadRequests(), rerunSearch()]);
    } catch (error) { fail(error.message); }
  }

  // -- requests ---------------------------------------------------------------

  function overdueText(r) {
    const late = Math.floor((Date.now() - Date.parse(r.due_at)) / 86400000);
    return `${day.format(new Date(r.due_at))} — atrasado${late >= 1 ? ` há ${late} dia${late > 1 ? "s" : ""}` : ""}`;
  }

  function noticeText(r) {
    if (r.notified_at) return `Avisado em ${when(r.notified_at)}`;
    if (r.notice_error) return `Não avisado: ${r.notice_error}`;
    return r.status === "done" ? "—" : "Será avisado ao concluir";
  }

  async function loadRequests() {
    const which = $("requests-filter").value;
    // Every page, up to 2,000 requests (pages of 200).
    const listed = [];
    let cursor = null;
    for (let i = 0; i < 10; i++) {
      const query = new URLSearchParams({ situacao: which, limit: "200" });
      if (cursor) query.set("cursor", cursor);
      const data = await api("GET", `/v1/admin/lgpd-requests?${query}`);
      listed.push(...data.requests);
      cursor = data.next_cursor;
      if (!cursor) break;
    }
    const rows = listed.map((r) => {
      const tr = document.createElement("tr");
      if (r.overdue) tr.className = "overdue";
      const customer = { id: r.customer_id, name: r.customer_name };
      const open = r.status === "open" || r.status === "in_progress";
      const actions = document.createElement("div");
      actions.className = "row-actions";
      if (open && !r.customer_erased) {
        if (r.kind === "access") actions.append(button("Exportar dados…", "secondary", () => exportData(customer)));
        else actions.append(button("Apagar dados…", "danger", () => erase(customer)));
      }
      const who = r.customer_erased ? "(dados apagados)" : `${r.customer_name || "Cliente"} · ${phone(r.customer_phone)}`;
      const th = cell("th", r.protocol);
      th.scope = "row";
      tr.append(
        th,
        cell("td", who),
        cell("td", KINDS[r.kind] || r.kind),
        cell("td", r.opened_by_type === "attendant" ? (r.opened_by || "Administrador") : (OPENED_BY[r.opened_by_type] || r.opened_by_type)),
        cell("td", when(r.requested_at)),
        cell("td", r.overdue ? overdueText(r) : (open ? day.format(new Date(r.due_at)) : `Concluído em ${when(r.resolved_at)}`), r.overdue ? "late" : ""),
        cell("td", STATUSES[r.status] || r.status),
        cell("td", noticeText(r), r.notice_error ? "warning" : ""),
        cell("td", actions),
      );
      return tr;
    });
    $("requests").replaceChildren(table(
      "Pedidos LGPD",
      ["Protocolo", "Cliente", "Pedido", "Aberto por", "Pedido em", "Prazo", "Situação", "Aviso ao cliente", "Ações"],
      rows, which === "abertos" ? "Nenhum pedido em aberto." : "Nenhum pedido."));
  }

  // -- search -----------------------------------------------------------------

  let lastSearch = "";
  const CONSENT = (c) => (c === true ? "Autorizou" : c === false ? "Não autorizou" : "Não respondeu");

  async function search(q) {
    lastSearch = q;
    const data = await api("GET", `/v1/admin/customers?q=${encodeURIComponent(q)}`);
    const rows = data.customers.map((c) => {
      const tr = document.createElement("tr");
      const customer = { id: c.id, name: c.name };
      const actions = document.createElement("div");
      actions.className = "row-actions";
      if (!c.erased) {
        actions.append(
          button("Exportar dados…", "secondary", () => exportData(customer)),
          ...(c.open_requests.includes("erasure") ? [] : [button("Registrar pedido de exclusão…", "secondary", () => registerErasure(customer))]),
          button("Apagar dados…", "danger", () => erase(customer)),
        );
      }
      const th = cell("th", c.erased ? "(dados apagados)" : (c.name || "Sem nome"));
      th.scope = "row";
      tr.append(
        th,
        cell("td", phone(c.phone)),
        cell("td", c.username ? "@" + c.username.replace(/^@/, "") : "—"),
        cell("td", when(c.last_contact_at)),
        cell("td", CONSENT(c.consent)),
        cell("td", c.open_requests.map((k) => KINDS[k]).join(", ") || "—"),
        cell("td", actions),
      );
      return tr;
    });
    $("results").replaceChildren(table(
      `Clientes encontrados: ${rows.length}`,
      ["Cliente", "Telefone", "Usuário", "Último contato", "Consentimento", "Pedidos em aberto", "Ações"],
      rows, "Nenhum cliente encontrado."));
  }

  async function rerunSearch() { if (lastSearch) await search(lastSearch); }

  // -- consent text -------------------------------------------------------------

  let nextVersion = 1;

  async function loadVersions() {
    const data = await api("GET", "/v1/admin/consent-texts");
    nextVersion = (data.versions[0] ? data.versions[0].version : 0) + 1;
    const rows = data.versions.map((v, i) => {
      const tr = document.createElement("tr");
      const th = cell("th", `Versão ${v.version}${i === 0 ? " (em uso)" : ""}`);
      th.scope = "row";
      tr.append(th, cell("td", when(v.published_at)),
        cell("td", v.published_by === "system" ? "Sistema (texto inicial)" : v.published_by),
        cell("td", v.body, "text"));
      return tr;
    });
    $("versions").replaceChildren(table("Versões publicadas", ["Versão", "Publicada em", "Publicada por", "Texto"],
      rows, "Nenhum texto publicado: o assistente não pede consentimento."));
  }

  async function publish(event) {
    event.preventDefault();
    const body = $("consent-body").value.trim();
    if (!body) { fail("Escreva o texto antes de publicar."); $("consent-body").focus(); return; }
    const ok = await confirmStep(
      `Publicar a versão ${nextVersion}?`,
      "O assistente passa a usar este texto e volta a pedir a autorização de todos os clientes, inclusive de quem já respondeu.",
      `Publicar versão ${nextVersion}`, false);
    if (!ok) return;
    fail("");
    try {
      const text = await api("PUT", "/v1/admin/consent-text", { body });
      $("consent-body").value = "";
      countChars();
      say(`Versão ${text.version} publicada.`);
      await loadVersions();
    } catch (error) { fail(error.message); }
  }

  function countChars() { $("consent-count").textContent = `${$("consent-body").value.length} de 1000 caracteres`; }

  // -- start ----------------------------------------------------------------------

  async function start() {
    if (!token) { fail("Entre no console para acessar a privacidade (LGPD)."); $("main").hidden = true; return; }
    try {
      const me = await api("GET", "/v1/console/me");
      if (me.role !== "admin") { fail("Somente administradores acessam a privacidade (LGPD)."); $("main").hidden = true; return; }
      await Promise.all([loadRequests(), loadVersions()]);
      say("Privacidade carregada.");
    } catch (error) { fail(error.message); }
    $("requests-filter").addEventListener("change", () => loadRequests().catch((e) => fail(e.message)));
    $("search-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const q = $("search-q").value.trim();
      if (!q) { fail("Digite um telefone, @usuário, nome ou protocolo."); return; }
      fail("");
      search(q).then(() => say("Busca concluída.")).catch((e) => fail(e.message));
    });
    $("consent-form").addEventListener("submit", publish);
    $("consent-body").addEventListener("input", countChars);
  }

  start();
})();
