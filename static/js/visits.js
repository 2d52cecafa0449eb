/* The visit form's offline queue: a visit typed in a village with no signal is never lost, never doubled.
 *
 * Saving writes the visit to localStorage with a fresh record key (client_key) and the phone's
 * clock BEFORE it is first sent. The queue sends each record to POST /api/households/<id>/visits;
 * a record leaves the queue only when the server keeps it (201, or 200 when it was kept already:
 * the key makes a resend harmless) or refuses it for good (a 4xx that cannot succeed: it moves to
 * the attention list, and only the officer throws it away). No network, a timeout or a 5xx keep
 * it queued: it is sent again on load, when the network returns, every half minute, and by
 * "Send now". visits-sw.js keeps the page itself so that it reloads with no network.
 */
(function () {
  'use strict';

  const QUEUE_KEY = 'bangfu.visits.queue';
  const ATTENTION_KEY = 'bangfu.visits.attention';
  // The service worker keeps the page and its files under this name (visits-sw.js uses the same).
  const CACHE = 'bangfu-visits-v1';
  const TIMEOUT_MS = 10000;
  const SYNC_EVERY_MS = 30000;

  const $ = (id) => document.getElementById(id);
  const readJson = (id) => JSON.parse($(id).textContent);
  const MSG = readJson('visit-messages');
  const CFG = readJson('visit-config');

  function t(key, args) {
    let text = MSG[key] || key;
    Object.keys(args || {}).forEach((name) => { text = text.split('%(' + name + ')s').join(String(args[name])); });
    return text;
  }

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    Object.keys(attrs || {}).forEach((name) => {
      const value = attrs[name];
      if (value === false || value === null || value === undefined) return;
      if (name === 'text') node.textContent = value;
      else if (name === 'class') node.className = value;
      else node.setAttribute(name, value === true ? '' : value);
    });
    (children || []).forEach((child) => { if (child) node.append(child); });
    return node;
  }

  /* ------------------------------------------------------------ the phone's storage */

  function load(key) {
    try {
      const value = JSON.parse(localStorage.getItem(key) || '[]');
      return Array.isArray(value) ? value : [];
    } catch (e) {
      return [];
    }
  }

  /** Save a list; false when the phone refuses (private mode, storage full). */
  function save(key, value) {
    try {
      localStorage.setItem(key, JSON.stringify(value));
      return true;
    } catch (e) {
      return false;
    }
  }

  // Always read afresh before a change, so that two tabs never overwrite each other's records.
  const loadQueue = () => load(QUEUE_KEY);
  const loadAttention = () => load(ATTENTION_KEY);

  function removeFromQueue(key) {
    save(QUEUE_KEY, loadQueue().filter((item) => item.key !== key));
  }

  function noteError(key, error) {
    save(QUEUE_KEY, loadQueue().map((item) => (item.key === key ? Object.assign(item, { error: error }) : item)));
  }

  /** A refused record leaves the queue for the attention list: written there first, so it is never dropped. */
  function moveToAttention(item, error) {
    const attention = loadAttention().filter((a) => a.key !== item.key);
    attention.push(Object.assign({}, item, { error: error }));
    if (save(ATTENTION_KEY, attention)) removeFromQueue(item.key);
  }

  function newKey() {
    if (window.crypto && typeof crypto.randomUUID === 'function') return crypto.randomUUID();
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
    return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20)].join('-');
  }

  const two = (n) => String(n).padStart(2, '0');

  /** The phone's clock as RFC 3339 with its offset: 2026-12-03T09:15:00.000+08:00. */
  function phoneNow() {
    const now = new Date();
    const offset = -now.getTimezoneOffset();
    const sign = offset >= 0 ? '+' : '-';
    const abs = Math.abs(offset);
    return now.getFullYear() + '-' + two(now.getMonth() + 1) + '-' + two(now.getDate()) +
      'T' + two(now.getHours()) + ':' + two(now.getMinutes()) + ':' + two(now.getSeconds()) +
      '.' + String(now.getMilliseconds()).padStart(3, '0') + sign + two(Math.floor(abs / 60)) + ':' + two(abs % 60);
  }

  function phoneToday() {
    const now = new Date();
    return now.getFullYear() + '-' + two(now.getMonth() + 1) + '-' + two(now.getDate());
  }

  /** Yuan as typed (1200, 1200.5, 1,200.50) in whole fen; null when it is not an amount. */
  function toFen(typed) {
    const text = String(typed || '').trim().replace(/[,，\s]/g, '').replace('。', '.');
    const match = /^(\d{1,8})(?:\.(\d{1,2}))?$/.exec(text);
    if (!match) return null;
    return Number(match[1]) * 100 + Number((match[2] || '').padEnd(2, '0'));
  }

  function fen(amount) {
    const yuan = String(Math.floor(amount / 100)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
    return '¥' + yuan + '.' + two(amount % 100);
  }

  /* ------------------------------------------------------------ the form */

  const form = $('visit-form');

  function addLine() {
    const line = $('income-line').content.firstElementChild.cloneNode(true);
    line.querySelectorAll('input[type=date]').forEach((input) => { input.max = phoneToday(); });
    $('income-lines').append(line);
    line.querySelector('[data-field=source]').focus();
  }

  function resetForm() {
    $('findings').value = '';
    $('risk_found').checked = false;
    $('income-lines').replaceChildren();
    form.querySelectorAll('[aria-invalid]').forEach((input) => input.removeAttribute('aria-invalid'));
  }

  function prepareForm() {
    if (!form) return;
    // The page may come from the phone's cache, days old: the date is the phone's today.
    const today = phoneToday();
    $('visited_on').max = today;
    $('visited_on').value = today;
    const wanted = new URLSearchParams(window.location.search).get('household');
    if (wanted && form.household.querySelector('option[value="' + CSS.escape(wanted) + '"]')) form.household.value = wanted;
  }

  function refuse(input, message) {
    input.setAttribute('aria-invalid', 'true');
    input.focus();
    $('form-error').textContent = message;
    return null;
  }

  /** The record as the API takes it, or null (with the first problem shown) when something is missing. */
  function readForm() {
    form.querySelectorAll('[aria-invalid]').forEach((input) => input.removeAttribute('aria-invalid'));
    $('form-error').textContent = '';
    const household = form.household;
    if (!household.value) return refuse(household, t('missing'));
    if (!$('visited_on').value) return refuse($('visited_on'), t('missing'));
    if (!$('findings').value.trim()) return refuse($('findings'), t('missing'));
    const income = [];
    for (const line of $('income-lines').children) {
      const field = (name) => line.querySelector('[data-field=' + name + ']');
      for (const name of ['period_start', 'period_end', 'how_checked']) {
        if (!field(name).value.trim()) return refuse(field(name), t('missing'));
      }
      const amount = toFen(field('amount').value);
      if (amount === null) return refuse(field('amount'), t('bad_amount'));
      income.push({
        source: field('source').value,
        amount_fen: amount,
        period_start: field('period_start').value,
        period_end: field('period_end').value,
        how_checked: field('how_checked').value.trim(),
      });
    }
    const option = household.options[household.selectedIndex];
    return {
      householdId: Number(household.value),
      label: option.textContent.trim(),
      by: CFG.username,
      body: {
        visited_on: $('visited_on').value,
        kind: form.querySelector('input[name=kind]:checked').value,
        findings: $('findings').value.trim(),
        risk_found: $('risk_found').checked,
        income: income,
      },
    };
  }

  function onSubmit(event) {
    event.preventDefault();
    const record = readForm();
    if (!record) return;
    // Key and phone time are fixed now, once: every resend is the same record.
    record.key = newKey();
    record.body.client_key = record.key;
    record.body.device_recorded_at = phoneNow();
    const queue = loadQueue();
    queue.push(record);
    if (!save(QUEUE_KEY, queue)) {
      $('form-error').textContent = t('storage_full');
      return;
    }
    resetForm();
    showMessage(t('saved'));
    render();
    sync();
  }

  /* ------------------------------------------------------------ talking to the server */

  const csrfToken = () => document.querySelector('meta[name="csrf-token"]').content;

  // Whether the server answered last time: navigator.onLine alone says only that there is some network.
  let reachable = navigator.onLine;

  function setReachable(value) {
    reachable = value;
    $('net-pill').hidden = reachable;
  }

  /** One request with a timeout; status 0 means the network failed or took too long. */
  async function request(method, url, body) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), TIMEOUT_MS);
    try {
      const response = await fetch(url, {
        method: method,
        credentials: 'same-origin',
        cache: 'no-store',
        headers: body ? { 'Content-Type': 'application/json', 'X-CSRFToken': csrfToken(), Accept: 'application/json' } : { Accept: 'application/json' },
        body: body ? JSON.stringify(body) : undefined,
        signal: controller.signal,
      });
      let data = null;
      try {
        data = await response.json();
      } catch (e) {
        data = null;
      }
      setReachable(true);
      return { status: response.status, data: data };
    } catch (e) {
      setReachable(false);
      return { status: 0, data: null };
    } finally {
      clearTimeout(timer);
    }
  }

  /** A fresh CSRF token (the cached page's may be stale): ok, signed_out or unreachable. */
  async function refreshToken() {
    const answer = await request('GET', CFG.sessionUrl);
    if (answer.status !== 200 || !answer.data) return 'unreachable';
    if (!answer.data.user) return 'signed_out';
    document.querySelector('meta[name="csrf-token"]').content = answer.data.csrf_token;
    return 'ok';
  }

  const errorCode = (answer) => (answer.data && answer.data.error ? answer.data.error.code : '');

  /** The server's reason in the officer's words: its message, and which income line each field's problem is on. */
  function errorText(answer) {
    const error = answer.data && answer.data.error;
    if (!error) return 'HTTP ' + answer.status;
    const parts = [error.message];
    Object.keys(error.fields || {}).forEach((name) => {
      const line = /^income\.(\d+)\./.exec(name);
      const said = error.fields[name] === error.message ? '' : error.fields[name];
      const where = line ? t('income_line', { n: Number(line[1]) + 1 }) : '';
      const part = [where, said].filter(Boolean).join(': ');
      if (part && !parts.includes(part)) parts.push(part);
    });
    return parts.join(' · ');
  }

  /** Send one record; recorded, refused (for good), signed_out or retry. */
  async function send(record) {
    const url = CFG.visitsUrl.replace('999999999', String(record.householdId));
    let answer = await request('POST', url, record.body);
    if (answer.status === 400 && errorCode(answer) === 'csrf_failed') {
      const token = await refreshToken();
      if (token === 'signed_out') return { kind: 'signed_out' };
      if (token !== 'ok') return { kind: 'retry', error: t('network_error') };
      answer = await request('POST', url, record.body);
    }
    const status = answer.status;
    if ((status === 200 || status === 201) && answer.data && typeof answer.data.id === 'number') return { kind: 'recorded' };
    if (status === 401) return { kind: 'signed_out' };
    if (status === 0) return { kind: 'retry', error: t('network_error') };
    // A refusal in the API's own words is final; a bare 4xx (a proxy's 404, a 429) may yet pass.
    const final = [400, 403, 404, 409, 413, 415, 422].includes(status) && errorCode(answer) && errorCode(answer) !== 'csrf_failed';
    if (final) return { kind: 'refused', error: errorText(answer) };
    return { kind: 'retry', error: errorText(answer) };
  }

  let syncing = false;

  /** Send the signed-in officer's queued records, oldest first; stop at the first that cannot go now. */
  async function sync() {
    if (syncing) return;
    syncing = true;
    try {
      for (const record of loadQueue().filter((r) => r.by === CFG.username)) {
        // Another tab may have sent it meanwhile.
        if (!loadQueue().some((r) => r.key === record.key)) continue;
        const outcome = await send(record);
        if (outcome.kind === 'recorded') {
          removeFromQueue(record.key);
          showMessage(t('sent'));
        } else if (outcome.kind === 'refused') {
          moveToAttention(record, outcome.error);
          showMessage(t('attention'));
        } else if (outcome.kind === 'signed_out') {
          showMessage(t('signed_out'));
          break;
        } else {
          noteError(record.key, outcome.error);
          showMessage(outcome.error);
          break;
        }
        render();
      }
    } finally {
      syncing = false;
      render();
    }
  }

  /* ------------------------------------------------------------ showing the queue */

  function showMessage(text) {
    $('queue-message').textContent = text;
  }

  function entry(record, buttons) {
    const body = record.body;
    const parts = [body.visited_on, t(body.kind)];
    if (body.risk_found) parts.push(t('risk'));
    if (body.income.length) parts.push(t('income_lines', { n: body.income.length }));
    const typed = body.device_recorded_at ? body.device_recorded_at.slice(0, 16).replace('T', ' ') : '';
    return el('li', { class: 'visit-entry', 'data-key': record.key }, [
      el('strong', { text: record.label }),
      el('span', { class: 'small', text: parts.join(' · ') }),
      el('span', { class: 'muted small wrap', text: body.findings }),
      body.income.length ? el('span', { class: 'muted small', text: body.income.map((l) => fen(l.amount_fen)).join(' / ') }) : null,
      el('span', { class: 'muted small', text: t('typed_at', { when: typed }) + (record.by !== CFG.username ? ' · ' + record.by : '') }),
      record.error ? el('span', { class: 'visit-error small wrap', text: record.error }) : null,
      buttons,
    ]);
  }

  function render() {
    const queue = loadQueue();
    const attention = loadAttention();
    $('pending-count').textContent = String(queue.length);
    $('attention-count').textContent = String(attention.length);
    $('attention-note').hidden = !attention.length;
    $('attention-section').hidden = !attention.length;
    $('pending-list').replaceChildren(...queue.map((r) => entry(r, null)));
    $('attention-list').replaceChildren(...attention.map((r) => entry(r, el('div', { class: 'actions' }, [
      el('button', { type: 'button', class: 'button quiet', 'data-retry': r.key, text: t('retry') }),
      el('button', { type: 'button', class: 'button quiet danger', 'data-discard': r.key, text: t('discard') }),
    ]))));
    $('net-pill').hidden = reachable;
  }

  function onAttentionClick(event) {
    const retry = event.target.closest('[data-retry]');
    const discard = event.target.closest('[data-discard]');
    if (retry) {
      const record = loadAttention().find((r) => r.key === retry.dataset.retry);
      if (!record) return;
      delete record.error;
      const queue = loadQueue().filter((r) => r.key !== record.key);
      queue.push(record);
      // Back in the queue first, out of the attention list after: never in neither.
      if (save(QUEUE_KEY, queue)) save(ATTENTION_KEY, loadAttention().filter((r) => r.key !== record.key));
      render();
      sync();
    } else if (discard && window.confirm(t('discard_confirm'))) {
      save(ATTENTION_KEY, loadAttention().filter((r) => r.key !== discard.dataset.discard));
      render();
    }
  }

  /* ------------------------------------------------------------ the page kept for offline use */

  function registerWorker() {
    // Service workers need a secure context (https, or 127.0.0.1); without one the queue still works.
    if (!('serviceWorker' in navigator) || !window.isSecureContext) return;
    navigator.serviceWorker.register(CFG.swUrl, { scope: CFG.scope }).then(keepPage).catch(() => {});
  }

  /** Keep the page and the files it loaded now: they were fetched before the worker could keep them. */
  function keepPage() {
    if (!navigator.onLine || !window.caches) return;
    const files = Array.from(document.querySelectorAll('link[rel=stylesheet], link[rel=icon], script[src], img[src]'))
      .map((node) => node.href || node.src)
      .filter((url) => new URL(url).origin === window.location.origin);
    caches.open(CACHE).then((cache) => Promise.all([CFG.scope].concat(files).map((url) => cache.add(url).catch(() => {})))).catch(() => {});
  }

  if (form) {
    form.addEventListener('submit', onSubmit);
    $('add-line').addEventListener('click', addLine);
    $('income-lines').addEventListener('click', (event) => {
      const button = event.target.closest('[data-remove-line]');
      if (button) button.closest('li').remove();
    });
  }
  $('send-now').addEventListener('click', sync);
  $('attention-list').addEventListener('click', onAttentionClick);
  window.addEventListener('online', () => { setReachable(true); render(); sync(); });
  window.addEventListener('offline', () => { setReachable(false); render(); showMessage(t('offline')); });
  window.addEventListener('storage', (event) => { if ([QUEUE_KEY, ATTENTION_KEY].includes(event.key)) render(); });
  document.addEventListener('visibilitychange', () => { if (!document.hidden) sync(); });
  setInterval(() => { if (loadQueue().length) sync(); }, SYNC_EVERY_MS);

  prepareForm();
  render();
  if (!navigator.onLine) showMessage(t('offline'));
  sync();
  registerWorker();
}());
