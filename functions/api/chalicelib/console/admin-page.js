/* Atende — what the console's own pages (Privacidade, Horário de atendimento,
 * Relatórios) share: the console's session (sessionStorage, same origin), the status and
 * alert lines, and calls to the API whose errors come back in Portuguese.
 * Loaded before the page's own script; every text goes in with textContent. */
"use strict";

window.AtendePage = (() => {
  const $ = (id) => document.getElementById(id);
  const token = sessionStorage.getItem("atende.console.token");

  function say(text) { $("status").textContent = text; }
  function fail(text) {
    const box = $("alerts");
    box.replaceChildren();
    if (!text) return;
    const p = document.createElement("p");
    p.className = "alert";
    p.textContent = text;
    box.append(p);
  }

  async function api(method, path, body) {
    const response = await fetch(path, {
      method,
      headers: { Authorization: "Bearer " + token, Accept: "application/json", "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    let data = {};
    try { data = await response.json(); } catch (_e) { /* no body */ }
    if (!response.ok) {
      let message = (data.error && data.error.message) || "Não foi possível concluir a ação.";
      if (response.status === 401) message = "Sua sessão expirou. Entre novamente no console.";
      throw new Error(message);
    }
    return data;
  }

  return { $, token, say, fail, api };
})();
