/* Atende — Horário de atendimento: the admins' page for the tenant's weekly
 * hours, holidays and out-of-office message (/v1/admin/business-hours).
 *
 * Uses the console's session (sessionStorage, same origin). The API checks
 * everything and answers in Portuguese; this page only gathers the form.
 * Every text goes in with textContent (never HTML). */
(() => {
  "use strict";

  const { $, token, say, fail, api } = window.AtendePage; // admin-page.js
  const DAYS = [["seg", "Segunda"], ["ter", "Terça"], ["qua", "Quarta"], ["qui", "Quinta"], ["sex", "Sexta"], ["sab", "Sábado"], ["dom", "Domingo"]];
  const day = new Intl.DateTimeFormat("pt-BR", { dateStyle: "full", timeZone: "UTC" });
  let holidays = []; // [{date, name}], the list being edited
  let suggested = [];

  function node(tag, text, attrs = {}) {
    const n = document.createElement(tag);
    if (text != null) n.textContent = text;
    for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
    return n;
  }

  const dayLabel = (iso) => day.format(new Date(iso + "T00:00:00Z"));
  // Text, not type=time: HH:MM reads the same in every browser's locale, and
  // "24:00" (the end of the day) can be written. The API checks the format.
  function timeInput(key, label, value) {
    const input = node("input", null, { type: "text", inputmode: "numeric", maxlength: "5", placeholder: "HH:MM", autocomplete: "off", "aria-label": label });
    input.dataset.key = key;
    input.value = value || "";
    return input;
  }

  function renderWeek(weekly) {
    const rows = DAYS.map(([key, name]) => {
      const spans = weekly[key] || [];
      const tr = document.createElement("tr");
      tr.dataset.day = key;
      const open = node("input", null, { type: "checkbox", "aria-label": `${name}: aberto` });
      open.checked = spans.length > 0;
      open.dataset.key = "open";
      const th = node("th", name, { scope: "row" });
      const cells = [
        timeInput("start1", `${name}: abre às`, spans[0] ? spans[0].start : "08:00"),
        timeInput("end1", `${name}: fecha às`, spans[0] ? spans[0].end : "18:00"),
        timeInput("start2", `${name}: reabre às (opcional)`, spans[1] && spans[1].start),
        timeInput("end2", `${name}: fecha de novo às (opcional)`, spans[1] && spans[1].end),
      ].map((input) => { const td = document.createElement("td"); td.append(input); return td; });
      const openCell = document.createElement("td");
      openCell.append(open);
      tr.append(th, openCell, ...cells);
      return tr;
    });
    $("week").replaceChildren(...rows);
  }

  function readWeek() {
    const weekly = {};
    for (const tr of $("week").children) {
      const get = (k) => tr.querySelector(`[data-key="${k}"]`);
      if (!get("open").checked) { weekly[tr.dataset.day] = []; continue; }
      const spans = [{ start: get("start1").value.trim(), end: get("end1").value.trim() }];
      if (get("start2").value.trim() || get("end2").value.trim()) spans.push({ start: get("start2").value.trim(), end: get("end2").value.trim() });
      weekly[tr.dataset.day] = spans;
    }
    return weekly;
  }

  function holidayItem(h, buttonText, onClick) {
    const li = node("li");
    li.append(node("span", `${dayLabel(h.date)} — ${h.name}`));
    const b = node("button", buttonText, { type: "button", class: "small", "aria-label": `${buttonText}: ${h.name} (${dayLabel(h.date)})` });
    b.addEventListener("click", onClick);
    li.append(b);
    return li;
  }

  function renderHolidays() {
    holidays.sort((a, b) => a.date.localeCompare(b.date));
    const taken = new Set(holidays.map((h) => h.date));
    $("holidays").replaceChildren(...(holidays.length
      ? holidays.map((h) => holidayItem(h, "Remover", () => { holidays = holidays.filter((x) => x !== h); renderHolidays(); }))
      : [node("li", "Nenhum feriado cadastrado.")]));
    const open = suggested.filter((h) => !taken.has(h.date));
    $("suggested").replaceChildren(...open.map((h) => holidayItem(h, "Adicionar", () => { holidays.push(h); renderHolidays(); })));
    $("suggestions-box").hidden = open.length === 0;
  }

  function render(data) {
    $("hours-enabled").checked = data.configured ? data.enabled : true;
    renderWeek(data.configured ? data.weekly : { seg: [{ start: "08:00", end: "18:00" }], ter: [{ start: "08:00", end: "18:00" }], qua: [{ start: "08:00", end: "18:00" }], qui: [{ start: "08:00", end: "18:00" }], sex: [{ start: "08:00", end: "18:00" }] });
    holidays = data.holidays.slice();
    suggested = data.suggested_holidays;
    renderHolidays();
    $("ooo-text").value = data.out_of_office_text || "";
    $("ooo-text").placeholder = data.default_out_of_office_text;
    countChars();
    const now = $("hours-now");
    if (!data.configured || !data.enabled) {
      now.textContent = "Sem horário ativo: o atendimento está sempre aberto.";
      now.classList.remove("closed");
    } else {
      now.textContent = (data.open_now ? "Aberto agora. " : "Fechado agora. ") + `Horário: ${data.summary}.`;
      now.classList.toggle("closed", !data.open_now);
    }
    $("preview").textContent = data.preview;
  }

  function countChars() { $("ooo-count").textContent = `${$("ooo-text").value.length} de 1000 caracteres`; }

  async function save(event) {
    event.preventDefault();
    fail("");
    const text = $("ooo-text").value.trim();
    try {
      const data = await api("PUT", "/v1/admin/business-hours", {
        enabled: $("hours-enabled").checked,
        weekly: readWeek(),
        holidays,
        out_of_office_text: text || null,
      });
      render(data);
      say("Horário de atendimento salvo.");
    } catch (error) { say(""); fail(error.message); }
  }

  function addHoliday() {
    const date = $("holiday-date").value;
    if (!date) { fail("Escolha a data do feriado."); $("holiday-date").focus(); return; }
    fail("");
    holidays = holidays.filter((h) => h.date !== date);
    holidays.push({ date, name: $("holiday-name").value.trim() || "Feriado" });
    $("holiday-date").value = "";
    $("holiday-name").value = "";
    renderHolidays();
    say("Feriado adicionado. Salve para valer.");
  }

  async function start() {
    if (!token) { fail("Entre no console para acessar o horário de atendimento."); $("main").hidden = true; return; }
    try {
      const me = await api("GET", "/v1/console/me");
      if (me.role !== "admin") { fail("Somente administradores alteram o horário de atendimento."); $("main").hidden = true; return; }
      render(await api("GET", "/v1/admin/business-hours"));
      say("Horário de atendimento carregado.");
    } catch (error) { fail(error.message); }
    $("hours-form").addEventListener("submit", save);
    $("holiday-add").addEventListener("click", addHoliday);
    $("accept-all").addEventListener("click", () => {
      const taken = new Set(holidays.map((h) => h.date));
      holidays.push(...suggested.filter((h) => !taken.has(h.date)));
      renderHolidays();
      say("Feriados sugeridos adicionados. Salve para valer.");
    });
    $("ooo-text").addEventListener("input", countChars);
  }

  start();
})();
