/* Atende — Relatórios: supervisors' and admins' reports page.
 *
 * Uses the console's session (sessionStorage, same origin) and the API under
 * /v1/console/reports. Charts are uPlot (vendored, see VENDORED.md); every
 * chart has its data as a table right below it. */
(() => {
  "use strict";

  const { $, token, say, fail } = window.AtendePage; // admin-page.js
  const REFRESH_MINUTES = 5; // the scheduled refresh (template.yaml: ReportsRefreshFunction)
  const XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

  const num = new Intl.NumberFormat("pt-BR");
  const pct = new Intl.NumberFormat("pt-BR", { style: "percent", maximumFractionDigits: 1 });
  const dec = new Intl.NumberFormat("pt-BR", { maximumFractionDigits: 1 });
  const score = new Intl.NumberFormat("pt-BR", { minimumFractionDigits: 1, maximumFractionDigits: 1 });
  const dayFmt = new Intl.DateTimeFormat("pt-BR", { day: "2-digit", month: "2-digit", year: "numeric", timeZone: "UTC" });
  const hourFmt = new Intl.DateTimeFormat("pt-BR", { day: "2-digit", month: "2-digit", hour: "2-digit", minute: "2-digit", timeZone: "UTC" });
  const stampFmt = new Intl.DateTimeFormat("pt-BR", { dateStyle: "short", timeStyle: "short", timeZone: "America/Sao_Paulo" });
  const UNAVAILABLE = "Indisponível";
  const DATE_NAMES = {
    MMMM: ["janeiro", "fevereiro", "março", "abril", "maio", "junho", "julho", "agosto", "setembro", "outubro", "novembro", "dezembro"],
    MMM: ["jan", "fev", "mar", "abr", "mai", "jun", "jul", "ago", "set", "out", "nov", "dez"],
    WWWW: ["domingo", "segunda", "terça", "quarta", "quinta", "sexta", "sábado"],
    WWW: ["dom", "seg", "ter", "qua", "qui", "sex", "sáb"],
  };

  const count = (n) => (n == null ? "—" : num.format(n));
  const rate = (r) => (r == null ? "—" : pct.format(r));
  function duration(seconds) {
    if (seconds == null) return "—";
    const s = Math.round(seconds);
    if (s < 60) return `${s} s`;
    const m = Math.floor(s / 60);
    if (m < 60) return `${m} min${s % 60 ? ` ${s % 60} s` : ""}`;
    const h = Math.floor(m / 60);
    return `${h} h${m % 60 ? ` ${m % 60} min` : ""}`;
  }
  // Periods are São Paulo local times without an offset: shown as written.
  const periodTime = (iso) => Date.parse(iso + "Z") / 1000;
  const periodLabel = (iso, granularity) =>
    (granularity === "hour" ? hourFmt : dayFmt).format(new Date(iso + "Z"));

  async function api(path, accept = "application/json") {
    const response = await fetch(path, { headers: { Authorization: "Bearer " + token, Accept: accept } });
    if (!response.ok) {
      let message = "Não foi possível carregar os relatórios.";
      try { message = (await response.json()).error.message || message; } catch (_e) { /* not JSON */ }
      if (response.status === 401) message = "Sua sessão expirou. Entre novamente no console.";
      throw new Error(message);
    }
    return response;
  }

  function params() {
    const data = new FormData($("filters"));
    const query = new URLSearchParams();
    for (const [key, value] of data) if (value) query.set(key, String(value));
    return query;
  }

  /** A table: caption, header row, body rows (text only: never HTML). */
  function table(caption, headers, rows) {
    const t = document.createElement("table");
    const c = document.createElement("caption");
    c.textContent = caption;
    const head = document.createElement("thead");
    const hr = document.createElement("tr");
    for (const h of headers) {
      const th = document.createElement("th");
      th.scope = "col";
      th.textContent = h;
      hr.append(th);
    }
    head.append(hr);
    const body = document.createElement("tbody");
    if (!rows.length) rows = [["Sem dados no período", ...headers.slice(1).map(() => "")]];
    for (const row of rows) {
      const tr = document.createElement("tr");
      row.forEach((value, i) => {
        const cell = document.createElement(i === 0 ? "th" : "td");
        if (i === 0) cell.scope = "row";
        cell.textContent = value;
        if (value === UNAVAILABLE) cell.className = "unavailable";
        tr.append(cell);
      });
      body.append(tr);
    }
    t.append(c, head, body);
    return t;
  }
  const put = (id, t) => $(id).replaceChildren(t);

  function card(label, value, detail) {
    const div = document.createElement("div");
    const dt = document.createElement("dt");
    dt.textContent = label;
    const dd = document.createElement("dd");
    dd.textContent = value;
    if (value === UNAVAILABLE) dd.className = "unavailable";
    if (detail) {
      const small = document.createElement("small");
      small.textContent = detail;
      dd.append(small);
    }
    div.append(dt, dd);
    return div;
  }

  // CSAT: 1 to 5; "Sem respostas" when no survey was answered in the period.
  function csatAverage(c) {
    if (!c.available) return UNAVAILABLE;
    return c.average == null ? "Sem respostas" : `${score.format(c.average)} de 5`;
  }

  function csatRows(groups) {
    return groups.map((g) => [g.label, count(g.surveys), count(g.responses),
      g.average == null ? "Sem respostas" : score.format(g.average), ...g.distribution.map(count)]);
  }
  const CSAT_COLUMNS = ["Pesquisas", "Respostas", "Média", "Nota 1", "Nota 2", "Nota 3", "Nota 4", "Nota 5"];

  function renderSummary(r) {
    const t = r.totals;
    $("summary").replaceChildren(
      card("Conversas", count(t.conversations), `${count(t.closed)} encerradas`),
      card("Contenção pelo bot", rate(t.containment_rate), `${count(t.contained)} encerradas sem pessoas`),
      card("Transferência para pessoas", rate(t.handoff_rate), `${count(t.handed_off)} conversas`),
      card("Abandono na fila", rate(t.abandonment_rate), `${count(t.abandoned)} de ${count(t.handoffs)} entradas na fila`),
      card("1ª resposta humana (mediana)", duration(t.first_response.median_seconds), `p90: ${duration(t.first_response.p90_seconds)}`),
      card("Tempo de atendimento (mediana)", duration(t.handling.median_seconds), `p90: ${duration(t.handling.p90_seconds)}`),
      card("Resolução (mediana)", duration(t.resolution.median_seconds), `p90: ${duration(t.resolution.p90_seconds)}`),
      card("Satisfação (CSAT)", csatAverage(r.satisfaction),
        `${count(r.satisfaction.responses)} respostas de ${count(r.satisfaction.surveys)} pesquisas (${rate(r.satisfaction.response_rate)})`),
    );
  }

  const charts = {};
  // Tick steps (seconds) that fall on whole periods; labels in pt-BR.
  const INCRS = {
    hour: [3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 2 * 86400, 7 * 86400],
    day: [86400, 2 * 86400, 7 * 86400, 14 * 86400, 28 * 86400],
    week: [7 * 86400, 14 * 86400, 28 * 86400, 56 * 86400],
  };
  const tickLabel = new Intl.DateTimeFormat("pt-BR", { day: "2-digit", month: "2-digit", timeZone: "UTC" });
  const tickHour = new Intl.DateTimeFormat("pt-BR", { hour: "2-digit", minute: "2-digit", timeZone: "UTC" });
  function xTicks(granularity) {
    return (_u, ticks) => ticks.map((t) => {
      const d = new Date(t * 1000);
      if (granularity !== "hour" || d.getUTCHours() === 0) return tickLabel.format(d);
      return tickHour.format(d);
    });
  }

  function chart(id, series, data, yFormat, granularity) {
    if (charts[id]) charts[id].destroy();
    const el = $(id);
    el.replaceChildren();
    const width = Math.max(320, el.clientWidth || 800);
    charts[id] = new uPlot({
      width, height: 300,
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
      fmtDate: (tpl) => uPlot.fmtDate(tpl, DATE_NAMES),
      series: [{}, ...series],
      axes: [
        { values: xTicks(granularity), incrs: INCRS[granularity], space: 60 },
        { values: (_u, ticks) => ticks.map(yFormat), size: 70 },
      ],
      legend: { live: false },
      cursor: { drag: { x: false, y: false } },
    }, data, el);
    el.querySelector("canvas")?.setAttribute("aria-hidden", "true");
  }

  function renderVolume(r) {
    const xs = r.periods.map((p) => periodTime(p.start));
    const m = r.periods.map((p) => p.measures);
    chart("chart-volume", [
      { label: "Conversas", stroke: "#0b5cad", width: 2 },
      { label: "Contidas pelo bot", stroke: "#1d6b35", width: 2, dash: [6, 4] },
      { label: "Transferidas a pessoas", stroke: "#b3261e", width: 2, dash: [2, 3] },
    ], [xs, m.map((x) => x.conversations), m.map((x) => x.contained), m.map((x) => x.handed_off)],
    (v) => num.format(v), r.granularity);
    const busiest = r.periods.reduce((a, p) => (p.measures.conversations > (a?.measures.conversations ?? -1) ? p : a), null);
    $("volume-desc").textContent = `${count(r.totals.conversations)} conversas no período; ` +
      `${rate(r.totals.containment_rate)} das encerradas ficaram só com o bot.` +
      (busiest && busiest.measures.conversations ? ` Pico: ${periodLabel(busiest.start, r.granularity)} (${count(busiest.measures.conversations)}).` : "");
    put("table-periods", table("Conversas por período (horário de Brasília)",
      ["Período", "Conversas", "Encerradas", "Contidas pelo bot", "Contenção", "Transferidas a pessoas", "Devolvidas ao bot", "Abandonadas"],
      r.periods.map((p) => [periodLabel(p.start, r.granularity), count(p.measures.conversations), count(p.measures.closed),
        count(p.measures.contained), rate(p.measures.containment_rate), count(p.measures.handed_off),
        count(p.measures.returned_to_bot), count(p.measures.abandoned)])));
  }

  function renderResponse(r) {
    const xs = r.periods.map((p) => periodTime(p.start));
    const fr = r.periods.map((p) => p.measures.first_response);
    const minutes = (s) => (s == null ? null : s / 60);
    chart("chart-response", [
      { label: "Mediana (min)", stroke: "#0b5cad", width: 2 },
      { label: "p90 (min)", stroke: "#8c1d18", width: 2, dash: [6, 4] },
    ], [xs, fr.map((d) => minutes(d.median_seconds)), fr.map((d) => minutes(d.p90_seconds))],
    (v) => `${dec.format(v)} min`, r.granularity);
    $("response-desc").textContent = `Do pedido de atendimento à primeira resposta de uma pessoa: mediana ` +
      `${duration(r.totals.first_response.median_seconds)}, p90 ${duration(r.totals.first_response.p90_seconds)} ` +
      `(${count(r.totals.first_response.count)} atendimentos respondidos).`;
    put("table-response", table("Primeira resposta humana por período",
      ["Período", "Entradas na fila", "Respondidas", "Mediana", "p90", "Atendimento (mediana)", "Atendimento (p90)"],
      r.periods.map((p) => [periodLabel(p.start, r.granularity), count(p.measures.handoffs), count(p.measures.first_response.count),
        duration(p.measures.first_response.median_seconds), duration(p.measures.first_response.p90_seconds),
        duration(p.measures.handling.median_seconds), duration(p.measures.handling.p90_seconds)])));
  }

  function breakdownRows(items, withConversations) {
    return items.map((b) => [b.label, ...(withConversations ? [count(b.conversations), count(b.contained)] : []),
      count(b.handoffs), count(b.abandoned), duration(b.first_response.median_seconds), duration(b.first_response.p90_seconds),
      duration(b.handling.median_seconds), b.satisfaction_average == null ? "—" : score.format(b.satisfaction_average)]);
  }
  const BREAKDOWN = ["Entradas na fila", "Abandonadas", "1ª resposta (mediana)", "1ª resposta (p90)", "Atendimento (mediana)", "Satisfação"];

  function renderTables(r) {
    put("table-reasons", table("Entradas na fila por motivo", ["Motivo", "Entradas na fila", "Parcela"],
      r.handoff_reasons.map((c) => [c.label, count(c.count), rate(r.totals.handoffs ? c.count / r.totals.handoffs : null)])));
    put("table-teams", table("Por equipe", ["Equipe", ...BREAKDOWN], breakdownRows(r.teams, false)));
    put("table-attendants", table("Por atendente (quem ficou com o atendimento)", ["Atendente", ...BREAKDOWN], breakdownRows(r.attendants, false)));
    put("table-entries", table("Por número de entrada", ["Número", "Conversas", "Contidas pelo bot", ...BREAKDOWN], breakdownRows(r.entry_points, true)));
    const bot = r.bot;
    put("table-bot", table("Medidas do bot e satisfação", ["Medida", "Valor"], [
      ["Intenções mais frequentes", bot.available ? bot.top_intents.map((c) => `${c.label} (${count(c.count)})`).join(", ") : UNAVAILABLE],
      ["Taxa de fallback", bot.available ? rate(bot.fallback_rate) : UNAVAILABLE],
      ["Taxa de esclarecimento", bot.available ? rate(bot.clarification_rate) : UNAVAILABLE],
      ["Respostas do LLM / \"não sei\"", bot.available ? `${count(bot.llm_answers)} / ${count(bot.dont_know_answers)}` : UNAVAILABLE],
      ["Satisfação (CSAT) média", csatAverage(r.satisfaction)],
    ]));
    const c = r.satisfaction;
    put("table-csat", table("Satisfação (CSAT): notas de 1 a 5", ["Grupo", ...CSAT_COLUMNS],
      [["Total", count(c.surveys), count(c.responses), csatAverage(c), ...c.distribution.map(count)]]));
    put("table-csat-teams", table("Satisfação por equipe", ["Equipe", ...CSAT_COLUMNS], csatRows(c.teams)));
    put("table-csat-attendants", table("Satisfação por atendente", ["Atendente", ...CSAT_COLUMNS], csatRows(c.attendants)));
    put("table-templates", table("Modelos enviados por categoria", ["Categoria", "Fora da janela de 24 h", "Dentro da janela"],
      r.templates.map((t) => [t.category, count(t.outside_window), count(t.inside_window)])));
    const d = r.documents;
    put("table-documents", table("Documentos processados", ["Medida", "Valor"], [
      ["Recebidos", count(d.received)], ["Concluídos", count(d.completed)], ["Com falha", count(d.failed)],
      ["Páginas", count(d.pages)], ["Páginas lidas por OCR", `${count(d.ocr_pages)} (${rate(d.ocr_share)})`],
      ...d.failures.map((f) => [`Falha: ${f.key}`, count(f.count)]),
    ]));
  }

  function fillSelect(id, options, keep) {
    const select = $(id);
    const current = keep ?? select.value;
    const first = select.options[0];
    select.replaceChildren(first);
    for (const [value, label] of options) {
      const o = document.createElement("option");
      o.value = value;
      o.textContent = label;
      select.append(o);
    }
    select.value = [...select.options].some((o) => o.value === current) ? current : "";
  }

  async function load() {
    fail("");
    say("Carregando relatórios…");
    try {
      const r = await (await api("/v1/console/reports?" + params())).json();
      renderSummary(r);
      renderVolume(r);
      renderResponse(r);
      renderTables(r);
      if (!r.team && !r.attendant_id) {
        fillSelect("f-equipe", r.teams.filter((t) => t.key).map((t) => [t.key, t.label]));
        fillSelect("f-atendente", r.attendants.filter((a) => a.key).map((a) => [a.key, a.label]));
      }
      if (!r.entry_point) fillSelect("f-entrada", r.entry_points.filter((e) => e.key).map((e) => [e.key, e.label]));
      $("freshness").textContent = r.refreshed_at
        ? `Números atualizados em ${stampFmt.format(new Date(r.refreshed_at))} (atualização a cada ${REFRESH_MINUTES} minutos).`
        : "Os números ainda não foram calculados; a primeira atualização ocorre em até 5 minutos.";
      say("Relatórios carregados.");
    } catch (error) {
      say("");
      fail(error.message);
    }
  }

  async function download(kind) {
    fail("");
    say("Preparando o arquivo…");
    try {
      const query = params();
      query.set("formato", kind);
      const response = await api("/v1/console/reports/export?" + query, kind === "xlsx" ? XLSX : "text/csv");
      const blob = await response.blob();
      const link = document.createElement("a");
      link.href = URL.createObjectURL(blob);
      link.download = `relatorio-${query.get("de")}-a-${query.get("ate")}.${kind}`;
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 1000);
      say("Arquivo pronto.");
    } catch (error) {
      say("");
      fail(error.message);
    }
  }

  function start() {
    if (!token) {
      fail("Entre no console para ver os relatórios.");
      return;
    }
    const today = new Date();
    const iso = (d) => new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 10);
    const url = new URLSearchParams(location.search);
    $("f-ate").value = url.get("ate") || iso(today);
    $("f-de").value = url.get("de") || iso(new Date(today.getTime() - 29 * 86400000));
    if (url.get("granularidade")) $("f-granularidade").value = url.get("granularidade");
    $("filters").addEventListener("submit", (e) => { e.preventDefault(); load(); });
    $("export-xlsx").addEventListener("click", () => download("xlsx"));
    $("export-csv").addEventListener("click", () => download("csv"));
    load();
  }

  start();
})();
