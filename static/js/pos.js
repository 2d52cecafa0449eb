/* The till (POS): products, basket, payment, and a queue that sends every sale exactly once.
 *
 * Plain ES2017, no dependencies, no build step. Words come from the page (#pos-messages), so this
 * file holds no language. Money is integer fen and quantities integer grams or pieces.
 *
 * Zero losses, zero duplicates: a sale is written to localStorage with its idempotency key BEFORE
 * the first attempt, and leaves the queue only when the server answers 200/201 (recorded) or a 4xx
 * that can never succeed (then it moves to "needs attention"). Any other outcome (no network, a
 * timeout, a 5xx, signed out) leaves it queued, to be sent again with the same key; the server
 * replays a key it has seen instead of selling twice. Each sale carries the moment it was rung up
 * (sold_at, with the tablet's UTC offset): the server prices and dates it by that moment, so a sale
 * that syncs after a price change or after midnight keeps the price asked and the day it was made.
 *
 * A refused sale leaves "needs attention" only on the server's word too: settling it (sold again,
 * money returned, written off) queues a record under the refused sale's key, written down before
 * it is sent and sent like a sale, and the entry goes when the server has kept that record.
 */
(function () {
  'use strict';

  const QUEUE_KEY = 'bangfu.pos.queue';
  const ATTENTION_KEY = 'bangfu.pos.attention';
  const SETTLE_KEY = 'bangfu.pos.settlements';
  const RESALE_KEY = 'bangfu.pos.resale';
  const BASKET_KEY = 'bangfu.pos.basket';
  const FAVOURITES_KEY = 'bangfu.pos.favourites';
  const WEIGHT_MODE_KEY = 'bangfu.pos.weightMode';
  const TIMEOUT_MS = 10000;
  const SYNC_EVERY_MS = 15000;
  const GRAMS_PER_JIN = 500;
  const MAX_QTY = 10000000;

  const $ = (id) => document.getElementById(id);
  const readJson = (id) => JSON.parse($(id).textContent);
  const MSG = readJson('pos-messages');
  const CFG = readJson('pos-config');
  const coarse = window.matchMedia && window.matchMedia('(pointer: coarse)').matches;

  /* ------------------------------------------------------------ words, money, quantities */

  /** A message with its %(name)s placeholders filled in. */
  function t(key, args) {
    let text = MSG[key] || key;
    Object.keys(args || {}).forEach((name) => { text = text.split('%(' + name + ')s').join(String(args[name])); });
    return text;
  }

  /** Fen as ¥1,234.56, the way the server's format_fen writes it. */
  function fen(amount) {
    const sign = amount < 0 ? '-' : '';
    const abs = Math.abs(amount);
    const yuan = String((abs - (abs % 100)) / 100).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
    return sign + '¥' + yuan + '.' + String(abs % 100).padStart(2, '0');
  }

  /** Price of a quantity, rounded half up to the fen exactly as money.price_for does; null if too big to be exact. */
  function priceFor(quantity, priceFen, per) {
    const numerator = 2 * quantity * priceFen + per;
    if (!Number.isSafeInteger(numerator)) return null;
    return (numerator - (numerator % (2 * per))) / (2 * per);
  }

  /** Grams as jin with at most two decimals, as units.grams_to_jin_text writes them. */
  function jinText(grams) {
    const n = 200 * grams + GRAMS_PER_JIN;
    const hundredths = (n - (n % 1000)) / 1000;
    const text = Math.floor(hundredths / 100) + '.' + String(hundredths % 100).padStart(2, '0');
    return text.replace(/0+$/, '').replace(/\.$/, '');
  }

  /** Grams or pieces from what was typed: whole grams or pieces, or jin with two decimals at most. */
  function parseQuantity(text, mode) {
    const s = (text || '').normalize('NFKC').trim();
    if (!s) return null;
    if (mode === 'jin') {
      const m = /^(\d{1,7})(?:\.(\d{0,2}))?$/.exec(s);
      return m ? (Number(m[1]) * 100 + Number((m[2] || '').padEnd(2, '0'))) * (GRAMS_PER_JIN / 100) : NaN;
    }
    return /^\d{1,9}$/.test(s) ? Number(s) : NaN;
  }

  /** Yuan typed by a person as fen; NaN when it is not an amount, null when blank. */
  function parseYuan(text) {
    const s = (text || '').normalize('NFKC').trim().replace(/^[¥￥]/, '');
    if (!s) return null;
    const m = /^(\d{1,8})(?:\.(\d{0,2}))?$/.exec(s);
    return m ? Number(m[1]) * 100 + Number((m[2] || '').padEnd(2, '0')) : NaN;
  }

  // Read-only, so tests can hold the till's arithmetic to the server's (shop/money.py, shop/units.py).
  window.BangfuPos = Object.freeze({ fen: fen, priceFor: priceFor, jinText: jinText, parseQuantity: parseQuantity, parseYuan: parseYuan });

  const isWeighed = (product) => product.unit === 'g';
  const productName = (p) => (CFG.lang === 'en' && p.name_en ? p.name_en : p.name);

  /** A quantity in the unit it was typed in: 0.5 斤, 250 克, 2 件. */
  function quantityText(quantity, mode) {
    if (mode === 'jin') return jinText(quantity) + ' ' + t('jin');
    if (mode === 'g') return quantity + ' ' + t('gram');
    return quantity + ' ' + t('piece');
  }

  /** The shelf price: ¥68.00/斤, ¥18.00/件. */
  function priceText(p) {
    let per;
    if (isWeighed(p)) {
      per = p.price_per % GRAMS_PER_JIN === 0
        ? (p.price_per === GRAMS_PER_JIN ? '' : p.price_per / GRAMS_PER_JIN) + t('jin')
        : p.price_per + t('gram');
    } else {
      per = (p.price_per === 1 ? '' : p.price_per) + t('piece');
    }
    return fen(p.price_fen) + '/' + per;
  }

  /** Stock as the clerk thinks of it: jin for weighed goods, pieces for packs. */
  const stockText = (p, qty) => quantityText(qty, isWeighed(p) ? 'jin' : 'piece');

  /* ------------------------------------------------------------ storage */

  function load(key, fallback) {
    try {
      const raw = localStorage.getItem(key);
      return raw ? JSON.parse(raw) : fallback;
    } catch (e) {
      return fallback;
    }
  }

  /** Save a value; false when the tablet refuses (private mode, storage full). */
  function save(key, value) {
    try {
      localStorage.setItem(key, JSON.stringify(value));
      return true;
    } catch (e) {
      return false;
    }
  }

  // The queue is always read afresh before a change, so two tabs never overwrite each other's sales.
  const loadQueue = () => load(QUEUE_KEY, []);
  const loadAttention = () => load(ATTENTION_KEY, []);
  const loadSettlements = () => load(SETTLE_KEY, []);

  function removeFromQueue(key) {
    save(QUEUE_KEY, loadQueue().filter((item) => item.key !== key));
  }

  function noteQueueError(key, error) {
    save(QUEUE_KEY, loadQueue().map((item) => (item.key === key ? Object.assign(item, { error: error, tried: Date.now() }) : item)));
  }

  /** A refused sale leaves the queue for the clerk's attention list; it is never dropped silently. */
  function moveToAttention(item, error) {
    const attention = loadAttention().filter((a) => a.key !== item.key);
    attention.push(Object.assign({}, item, { error: error, refused: Date.now() }));
    if (save(ATTENTION_KEY, attention)) removeFromQueue(item.key);
  }

  /* ------------------------------------------------------------ state */

  let products = readJson('pos-products');
  let basket = load(BASKET_KEY, []); // [{product_id, quantity, mode, snap}]
  const favourites = new Set(load(FAVOURITES_KEY, []));
  const inFlight = new Set(); // keys being sent right now, so the sync loop leaves them alone
  let method = null;
  let sending = false; // a sale from the checkout is on its way
  let unsaved = null; // a sale neither answered nor saved on the tablet
  let syncing = false;
  let signedOut = false;

  const productById = (id) => products.find((p) => p.id === id);
  const lineProduct = (line) => productById(line.product_id) || line.snap;
  const lineAmount = (line) => {
    const p = lineProduct(line);
    return priceFor(line.quantity, p.price_fen, p.price_per);
  };
  const basketTotal = () => basket.reduce((sum, line) => sum + (lineAmount(line) || 0), 0);

  function saveBasket() {
    save(BASKET_KEY, basket);
    // A basket emptied no longer sells a refused sale again: its entry waits in the list once more.
    if (!basket.length && load(RESALE_KEY, null)) {
      save(RESALE_KEY, null);
      renderQueue();
    }
    renderBasket();
  }

  /** Grams or pieces of each product in sales not yet recorded, so stock shown does not count them. */
  function unsentQuantities() {
    const taken = {};
    loadQueue().forEach((item) => item.body.lines.forEach((l) => { taken[l.product_id] = (taken[l.product_id] || 0) + l.quantity; }));
    return taken;
  }

  function availableOf(p, unsent) {
    return Math.max(0, p.available - ((unsent || unsentQuantities())[p.id] || 0));
  }

  /* ------------------------------------------------------------ DOM helpers */

  /** An element with attributes and children (strings become text, never HTML). */
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

  function openDialog(dialog) {
    if (!dialog.open) dialog.showModal();
  }

  /* ------------------------------------------------------------ products */

  function renderGrid() {
    const query = $('search').value.normalize('NFKC').trim().toLowerCase();
    const shown = products
      .map((p, index) => ({ p: p, index: index }))
      .filter(({ p }) => !query || [p.name, p.name_en || '', p.sku].some((s) => s.toLowerCase().includes(query)))
      .sort((a, b) => (favourites.has(b.p.id) - favourites.has(a.p.id)) || (a.index - b.index));
    const grid = $('grid');
    const unsent = unsentQuantities();
    grid.textContent = '';
    shown.forEach(({ p }) => grid.append(productCard(p, unsent)));
    if (!shown.length) grid.append(el('li', { class: 'empty', text: t('no_match') }));
  }

  function productCard(p, unsent) {
    const available = availableOf(p, unsent);
    const starred = favourites.has(p.id);
    const inBasket = basket.some((line) => line.product_id === p.id);
    return el('li', { class: 'tile' + (available ? '' : ' sold-out') + (inBasket ? ' in-basket' : '') }, [
      el('button', { type: 'button', class: 'product', 'data-id': p.id }, [
        p.image ? el('img', { src: p.image, alt: '', width: 56, height: 42, loading: 'lazy' }) : null,
        el('span', { class: 'product-name', text: productName(p) }),
        el('span', { class: 'price', text: priceText(p) }),
        el('span', { class: 'stock', text: available ? t('on_sale', { qty: stockText(p, available) }) : t('sold_out') }),
      ]),
      el('button', {
        type: 'button', class: 'star' + (starred ? ' on' : ''), 'data-star': p.id,
        'aria-pressed': String(starred), 'aria-label': t('favourite'), text: starred ? '★' : '☆',
      }),
    ]);
  }

  function onGridClick(event) {
    const star = event.target.closest('[data-star]');
    if (star) {
      const id = Number(star.dataset.star);
      if (favourites.has(id)) favourites.delete(id); else favourites.add(id);
      save(FAVOURITES_KEY, Array.from(favourites));
      renderGrid();
      return;
    }
    const button = event.target.closest('.product');
    if (button) openQuantity(productById(Number(button.dataset.id)));
  }

  /** Ask for what is on sale now; the page's embedded list serves until the network answers. */
  async function refreshProducts() {
    const answer = await request('GET', CFG.productsUrl);
    if (answer.status !== 200 || !Array.isArray(answer.data)) return;
    const images = {};
    products.forEach((p) => { images[p.id] = p.image; });
    products = answer.data.map((p) => Object.assign(p, { image: images[p.id] }));
    renderGrid();
    renderBasket();
  }

  /* ------------------------------------------------------------ the quantity sheet */

  let editing = null; // {product, index, mode}

  function openQuantity(product) {
    if (!product) return;
    const index = basket.findIndex((line) => line.product_id === product.id);
    const line = index >= 0 ? basket[index] : null;
    const mode = !isWeighed(product) ? 'piece' : (line ? line.mode : load(WEIGHT_MODE_KEY, 'jin'));
    editing = { product: product, index: index, mode: mode };
    $('qty-name').textContent = productName(product);
    $('qty-price').textContent = priceText(product);
    const available = availableOf(product);
    $('qty-available').textContent = available ? t('on_sale', { qty: stockText(product, available) }) : t('sold_out');
    $('unit-toggle').hidden = mode === 'piece';
    $('qty-input').value = line ? typedQuantity(line.quantity, mode) : '';
    $('qty-ok').textContent = line ? t('update') : t('add');
    setMode(mode, false);
    openDialog($('qty-dialog'));
    if (!coarse) $('qty-input').focus();
  }

  /** A quantity as it would be typed in a unit. */
  function typedQuantity(quantity, mode) {
    return mode === 'jin' ? jinText(quantity) : String(quantity);
  }

  /** Switch between jin and grams, keeping the quantity when it can be written exactly in the new unit. */
  function setMode(mode, convert) {
    const input = $('qty-input');
    if (convert && editing.mode !== mode) {
      const quantity = parseQuantity(input.value, editing.mode);
      const exact = quantity && (mode === 'g' || quantity % 5 === 0);
      input.value = exact ? typedQuantity(quantity, mode) : '';
      save(WEIGHT_MODE_KEY, mode);
    }
    editing.mode = mode;
    document.querySelectorAll('#unit-toggle button').forEach((b) => b.setAttribute('aria-pressed', String(b.dataset.mode === mode)));
    $('qty-unit').textContent = mode === 'jin' ? t('jin') : mode === 'g' ? t('gram') : t('piece');
    document.querySelector('#keypad [data-key="."]').disabled = mode !== 'jin';
    renderQuickQuantities();
    updateQuantityPreview();
  }

  function renderQuickQuantities() {
    const choices = { jin: ['0.5', '1', '1.5', '2'], g: ['100', '250', '500', '1000'], piece: ['1', '2', '3', '5'] }[editing.mode];
    const quick = $('qty-quick');
    quick.textContent = '';
    choices.forEach((value) => quick.append(el('button', { type: 'button', 'data-value': value, text: quantityText(parseQuantity(value, editing.mode), editing.mode) })));
  }

  /** The line's price, live as the clerk types, computed the way the server will. */
  function updateQuantityPreview() {
    const p = editing.product;
    const quantity = parseQuantity($('qty-input').value, editing.mode);
    const valid = quantity !== null && quantity > 0 && quantity <= MAX_QTY;
    const amount = valid ? priceFor(quantity, p.price_fen, p.price_per) : null;
    $('qty-amount').textContent = amount === null ? '—' : fen(amount);
    $('qty-equals').textContent = valid && editing.mode === 'jin' ? '= ' + quantityText(quantity, 'g')
      : valid && editing.mode === 'g' ? '≈ ' + quantityText(quantity, 'jin') : '';
    let error = '';
    if (quantity !== null && !valid) error = editing.mode === 'piece' ? t('bad_count') : t('bad_weight');
    else if (valid && quantity > availableOf(p)) error = t('only_left', { qty: stockText(p, availableOf(p)) });
    $('qty-error').textContent = error;
    $('qty-ok').disabled = !valid;
  }

  function onKeypad(event) {
    const key = event.target.closest('[data-key]');
    if (!key) return;
    const input = $('qty-input');
    input.value = key.dataset.key === 'back' ? input.value.slice(0, -1) : input.value + key.dataset.key;
    updateQuantityPreview();
  }

  function onQuantitySubmit(event) {
    event.preventDefault();
    const quantity = parseQuantity($('qty-input').value, editing.mode);
    if (!(quantity > 0 && quantity <= MAX_QTY)) return;
    const p = editing.product;
    const line = {
      product_id: p.id, quantity: quantity, mode: editing.mode,
      snap: { id: p.id, name: p.name, name_en: p.name_en, unit: p.unit, price_fen: p.price_fen, price_per: p.price_per, available: 0 },
    };
    if (editing.index >= 0) basket[editing.index] = line; else basket.push(line);
    $('qty-dialog').close();
    saveBasket();
    renderGrid();
  }

  /* ------------------------------------------------------------ the basket */

  function renderBasket() {
    const list = $('basket');
    list.textContent = '';
    basket.forEach((line, index) => {
      const p = lineProduct(line);
      const amount = lineAmount(line);
      list.append(el('li', {}, [
        el('button', { type: 'button', class: 'line', 'data-edit': index }, [
          el('span', { class: 'line-name', text: productName(p) }),
          el('span', { class: 'line-qty', text: quantityText(line.quantity, line.mode) + ' × ' + priceText(p) }),
          el('span', { class: 'line-amount', text: amount === null ? '—' : fen(amount) }),
        ]),
        el('button', { type: 'button', class: 'remove', 'data-remove': index, 'aria-label': t('remove'), text: '×' }),
      ]));
    });
    if (!basket.length) list.append(el('li', { class: 'empty', text: t('basket_empty') }));
    const total = fen(basketTotal());
    const count = basket.length ? t('items', { n: basket.length }) : '';
    $('total').textContent = total;
    $('mini-total').textContent = total;
    $('basket-count').textContent = count;
    $('mini-count').textContent = count || t('basket_empty');
    $('checkout').disabled = $('mini-checkout').disabled = !basket.length;
    $('clear-basket').disabled = !basket.length;
  }

  function onBasketClick(event) {
    const remove = event.target.closest('[data-remove]');
    if (remove) {
      basket.splice(Number(remove.dataset.remove), 1);
      saveBasket();
      renderGrid();
      return;
    }
    const edit = event.target.closest('[data-edit]');
    if (edit) openQuantity(lineProduct(basket[Number(edit.dataset.edit)]));
  }

  function clearBasket() {
    basket = [];
    method = null;
    saveBasket();
    renderGrid();
  }

  /* ------------------------------------------------------------ payment and confirmation */

  function openPayment() {
    if (!basket.length) return;
    const summary = $('pay-lines');
    summary.textContent = '';
    basket.forEach((line) => {
      const amount = lineAmount(line);
      summary.append(el('li', {}, [
        el('span', { text: productName(lineProduct(line)) + ' ' + quantityText(line.quantity, line.mode) }),
        el('span', { text: amount === null ? '—' : fen(amount) }),
      ]));
    });
    $('pay-total').textContent = fen(basketTotal());
    $('tendered').value = '';
    $('pay-error').hidden = true;
    renderCashQuick();
    chooseMethod(method);
    openDialog($('pay-dialog'));
  }

  /** Exact money, then the next round notes above the total: what buyers usually hand over. */
  function renderCashQuick() {
    const total = basketTotal();
    const amounts = [total];
    [1000, 2000, 5000, 10000].forEach((step) => amounts.push(Math.ceil(total / step) * step));
    amounts.push(Math.ceil(total / 10000) * 10000 + 10000);
    const unique = amounts.filter((a, i) => a > 0 && amounts.indexOf(a) === i).slice(0, 5);
    const quick = $('cash-quick');
    quick.textContent = '';
    unique.forEach((a) => quick.append(el('button', { type: 'button', 'data-fen': a, text: fen(a) })));
  }

  function chooseMethod(chosen) {
    method = chosen;
    document.querySelectorAll('#methods button').forEach((b) => b.setAttribute('aria-pressed', String(b.dataset.method === chosen)));
    $('cash-box').hidden = chosen !== 'cash';
    updateChange();
  }

  /** What is still owed or given back, and whether the sale may be confirmed. */
  function updateChange() {
    const total = basketTotal();
    const tendered = method === 'cash' ? parseYuan($('tendered').value) : null;
    const short = tendered !== null && (Number.isNaN(tendered) || tendered < total);
    const change = $('change');
    change.className = 'change' + (short ? ' short' : '');
    change.textContent = tendered === null ? '' : Number.isNaN(tendered) ? '—'
      : short ? t('short_cash', { amount: fen(total - tendered) }) : t('change', { amount: fen(tendered - total) });
    const confirm = $('pay-confirm');
    confirm.disabled = !method || short;
    confirm.textContent = !method ? t('collect', { amount: fen(total) })
      : method === 'cash' ? t('confirm_cash') : t('confirm_other');
  }

  /** A random idempotency key: randomUUID needs a secure context, which plain http on a LAN is not. */
  function newKey() {
    if (window.crypto && typeof crypto.randomUUID === 'function') return crypto.randomUUID();
    const bytes = new Uint8Array(16);
    if (window.crypto && crypto.getRandomValues) crypto.getRandomValues(bytes);
    else for (let i = 0; i < 16; i++) bytes[i] = Math.floor(Math.random() * 256);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
    return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20)].join('-');
  }

  /** An instant as RFC 3339 in the tablet's own zone, with its offset: 2026-12-03T23:59:00.000+08:00. */
  function rfc3339(ms) {
    const d = new Date(ms);
    const pad = (n, w) => String(n).padStart(w || 2, '0');
    const offset = -d.getTimezoneOffset();
    const zone = (offset < 0 ? '-' : '+') + pad(Math.floor(Math.abs(offset) / 60)) + ':' + pad(Math.abs(offset) % 60);
    return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + 'T' + pad(d.getHours()) + ':'
      + pad(d.getMinutes()) + ':' + pad(d.getSeconds()) + '.' + pad(d.getMilliseconds(), 3) + zone;
  }

  /** The basket as a queued sale: its key, the exact body to send, and what to show while it waits. */
  function saleFromBasket() {
    const body = {
      idempotency_key: '',
      payment_method: method,
      lines: basket.map((line) => ({ product_id: line.product_id, quantity: line.quantity })),
    };
    const tendered = method === 'cash' ? parseYuan($('tendered').value) : null;
    if (tendered !== null) body.tendered_fen = tendered;
    // The counter chosen when the sale was made goes with it, even if it is sent later from another.
    if (CFG.counterId) body.counter_id = CFG.counterId;
    // The same basket confirmed again after an unsaved, unanswered try keeps its key: the first try may have landed.
    const fingerprint = JSON.stringify(body);
    const again = unsaved && unsaved.fingerprint === fingerprint;
    const key = again ? unsaved.key : newKey();
    // The moment it was rung up prices and dates the sale, however late it syncs; a retry keeps the
    // first try's moment, so that its body, and so its replay, is the same.
    const created = again ? unsaved.created : Date.now();
    body.idempotency_key = key;
    body.sold_at = rfc3339(created);
    return {
      key: key, body: body, created: created, clerk: CFG.username, total_fen: basketTotal(), fingerprint: fingerprint,
      lines: basket.map((line) => ({ product_id: line.product_id, quantity: line.quantity, mode: line.mode, snap: lineProduct(line) })),
    };
  }

  async function confirmSale() {
    if (sending || $('pay-confirm').disabled) return;
    setSending(true);
    const sale = saleFromBasket();
    inFlight.add(sale.key);
    // Written down before the first attempt: a reload or a dead battery mid-request loses nothing.
    const kept = save(QUEUE_KEY, loadQueue().concat([sale]));
    renderQueue();
    let outcome;
    try {
      outcome = await sendSale(sale);
    } finally {
      inFlight.delete(sale.key);
      setSending(false);
    }
    unsaved = null;
    if (outcome.kind === 'refused') {
      removeFromQueue(sale.key);
      renderQueue();
      showPayError(outcome.error);
      return;
    }
    if (outcome.kind === 'recorded') {
      removeFromQueue(sale.key);
    } else if (!kept) {
      // Neither answered nor saved: the basket stays on screen, and its key with it, for another try.
      unsaved = sale;
      showPayError(t('storage_full'));
      return;
    } else {
      noteQueueError(sale.key, outcome.error);
    }
    settleResale(sale);
    $('pay-dialog').close();
    showDone(sale, outcome);
    clearBasket();
    renderQueue();
    if (outcome.kind === 'recorded') {
      refreshProducts();
      syncQueue();
    }
  }

  /** While a sale is on its way the checkout cannot be left or confirmed again. */
  function setSending(on) {
    sending = on;
    $('pay-back').disabled = on;
    $('pay-confirm').disabled = on;
    if (on) $('pay-confirm').textContent = t('sending');
    else updateChange();
  }

  function showPayError(message) {
    const box = $('pay-error');
    box.textContent = message;
    box.hidden = false;
    updateChange();
  }

  function showDone(sale, outcome) {
    const recorded = outcome.kind === 'recorded';
    const data = recorded ? outcome.data : null;
    const total = recorded ? data.total_fen : sale.total_fen;
    const tendered = recorded ? data.tendered_fen : sale.body.tendered_fen;
    const hasTendered = typeof tendered === 'number';
    $('done-mark').textContent = recorded ? '✓' : '…';
    $('done-mark').className = 'done-mark' + (recorded ? '' : ' pending');
    $('done-title').textContent = recorded ? t('recorded') : t('saved_offline');
    $('done-number').textContent = recorded ? data.number : '';
    $('done-total').textContent = fen(total);
    $('done-tendered-row').hidden = $('done-change-row').hidden = !hasTendered;
    if (hasTendered) {
      $('done-tendered').textContent = fen(tendered);
      $('done-change').textContent = fen(tendered - total);
    }
    $('done-hint').textContent = recorded ? '' : outcome.kind === 'signed_out' ? t('signed_out') : t('saved_offline_hint');
    $('done-links').hidden = !recorded;
    if (recorded) {
      $('done-receipt').href = CFG.saleUrl.replace('999999999', data.id);
      $('done-pdf').href = CFG.pdfUrl.replace('999999999', data.id);
    }
    openDialog($('done-dialog'));
    $('next-buyer').focus();
  }

  /* ------------------------------------------------------------ talking to the server */

  const csrfToken = () => document.querySelector('meta[name="csrf-token"]').content;

  /** One request with a timeout; status 0 means the network failed or took too long. */
  async function request(method, url, body) {
    const controller = typeof AbortController === 'function' ? new AbortController() : null;
    const timer = controller ? setTimeout(() => controller.abort(), TIMEOUT_MS) : null;
    try {
      const response = await fetch(url, {
        method: method,
        credentials: 'same-origin',
        cache: 'no-store',
        headers: body ? { 'Content-Type': 'application/json', 'X-CSRFToken': csrfToken(), Accept: 'application/json' } : { Accept: 'application/json' },
        body: body ? JSON.stringify(body) : undefined,
        signal: controller ? controller.signal : undefined,
      });
      let data = null;
      try {
        data = await response.json();
      } catch (e) {
        data = null;
      }
      return { status: response.status, data: data };
    } catch (e) {
      return { status: 0, data: null };
    } finally {
      clearTimeout(timer);
    }
  }

  /** A new CSRF token for this session; false when signed out or unreachable. */
  async function refreshToken() {
    const answer = await request('GET', CFG.sessionUrl);
    if (answer.status !== 200 || !answer.data) return 'unreachable';
    if (!answer.data.user) return 'signed_out';
    document.querySelector('meta[name="csrf-token"]').content = answer.data.csrf_token;
    return 'ok';
  }

  const errorCode = (answer) => (answer.data && answer.data.error ? answer.data.error.code : '');
  const errorMessage = (answer) => (answer.data && answer.data.error ? answer.data.error.message : 'HTTP ' + answer.status);

  /**
   * Send a sale once, renewing the CSRF token once if it went stale. The outcome is one of
   * recorded, refused (never retry: a 4xx that cannot succeed), signed_out, or retry.
   */
  async function sendSale(sale) {
    return send(CFG.salesUrl, sale.body);
  }

  async function send(url, body) {
    let answer = await request('POST', url, body);
    if (answer.status === 400 && errorCode(answer) === 'csrf_failed') {
      const token = await refreshToken();
      if (token === 'signed_out') return setSignedOut({ kind: 'signed_out', error: t('signed_out') });
      if (token !== 'ok') return setOnline({ kind: 'retry', error: t('network_error') }, false);
      answer = await request('POST', url, body);
    }
    return classify(answer);
  }

  function classify(answer) {
    const status = answer.status;
    if ((status === 200 || status === 201) && answer.data && typeof answer.data.id === 'number') {
      signedOut = false;
      return setOnline({ kind: 'recorded', data: answer.data }, true);
    }
    if (status === 401 || status === 403) return setSignedOut({ kind: 'signed_out', error: errorMessage(answer) });
    if (status === 0) return setOnline({ kind: 'retry', error: t('network_error') }, false);
    const never = [400, 409, 413, 415, 422].includes(status) && errorCode(answer) !== 'csrf_failed';
    if (never) return setOnline({ kind: 'refused', error: errorMessage(answer), code: errorCode(answer) }, true);
    // 5xx, 404 from a proxy, 408, 429, a 2xx we could not read: the sale may yet go through.
    return setOnline({ kind: 'retry', error: errorMessage(answer) }, status < 500);
  }

  function setOnline(outcome, online) {
    $('net-pill').hidden = online && navigator.onLine;
    return outcome;
  }

  function setSignedOut(outcome) {
    signedOut = true;
    renderQueue();
    return outcome;
  }

  /* ------------------------------------------------------------ the queue */

  /** Send waiting sales, oldest first, one at a time; stop at the first that cannot go yet. */
  async function syncQueue() {
    if (syncing) return;
    syncing = true;
    let changed = 0;
    let blocked = false;
    const tried = new Set(); // each sale at most once a round, even if the tablet cannot write its outcome
    renderQueue();
    try {
      for (;;) {
        const sale = loadQueue().find((item) => !inFlight.has(item.key) && !tried.has(item.key));
        if (!sale) break;
        tried.add(sale.key);
        inFlight.add(sale.key);
        let outcome;
        try {
          outcome = await sendSale(sale);
        } finally {
          inFlight.delete(sale.key);
        }
        if (outcome.kind === 'recorded') removeFromQueue(sale.key);
        else if (outcome.kind === 'refused') moveToAttention(sale, outcome.error);
        else {
          noteQueueError(sale.key, outcome.error);
          blocked = true;
          break;
        }
        changed += 1;
        renderQueue();
      }
      // Settlements after the sales, so that a sale sold again reaches the server before its record.
      if (!blocked) await syncSettlements();
    } finally {
      syncing = false;
      renderQueue();
    }
    if (changed) {
      renderGrid();
      refreshProducts();
    }
  }

  // The counter's clock, whatever zone the tablet is set to: the sales list shows the same times.
  const timeText = (ms) => new Date(ms).toLocaleTimeString(CFG.lang === 'en' ? 'en-GB' : 'zh-CN',
    { hour: '2-digit', minute: '2-digit', timeZone: 'Asia/Shanghai' });

  function saleSummary(sale) {
    return sale.lines.map((l) => productName(l.snap) + ' ' + quantityText(l.quantity, l.mode)).join(', ');
  }

  function queueEntry(sale, extra) {
    return el('li', {}, [
      el('div', { class: 'queue-main' }, [
        el('span', { class: 'queue-time', text: timeText(sale.created) }),
        el('span', { class: 'queue-items', text: saleSummary(sale) }),
        el('strong', { class: 'queue-total', text: fen(sale.total_fen) }),
      ]),
      extra,
    ]);
  }

  function renderQueue() {
    const queue = loadQueue();
    const attention = loadAttention();
    $('pending-count').textContent = String(queue.length);
    $('queue-button').classList.toggle('has-pending', queue.length > 0);
    $('attention-count').textContent = String(attention.length);
    $('attention-button').hidden = !attention.length;
    $('signed-out').hidden = !(signedOut && queue.length);
    const list = $('queue-list');
    list.textContent = '';
    queue.forEach((sale) => list.append(queueEntry(sale, sale.error
      ? el('p', { class: 'queue-error', text: inFlight.has(sale.key) ? t('syncing') : t('last_error', { error: sale.error }) }) : null)));
    if (!queue.length) list.append(el('li', { class: 'empty', text: t('pending_none') }));
    const refused = $('attention-list');
    refused.textContent = '';
    const settled = new Set(loadSettlements().map((s) => s.key));
    const resale = load(RESALE_KEY, null);
    attention.forEach((sale) => refused.append(queueEntry(sale, el('div', { class: 'queue-refused' }, [
      el('p', { class: 'queue-error', text: sale.error }),
      sale.settleError ? el('p', { class: 'queue-error', text: t('settle_refused', { error: sale.settleError }) }) : null,
      settled.has(sale.key) ? el('p', { class: 'hint', text: t('settle_pending') }) : null,
      !settled.has(sale.key) && resale && resale.of === sale.key ? el('p', { class: 'hint', text: t('settle_in_basket') }) : null,
      ...(settled.has(sale.key) || (resale && resale.of === sale.key) ? [] : [
        el('button', { type: 'button', class: 'ghost', 'data-again': sale.key, text: t('to_basket') }),
        el('button', { type: 'button', class: 'ghost', 'data-dismiss': sale.key, text: t('dismiss') }),
      ]),
    ]))));
    $('attention-section').hidden = !attention.length;
    $('sync-now').disabled = syncing || !(queue.length || settled.size);
  }

  /* ------------------------------------------------------------ settling a refused sale */

  let settling = null; // {sale, again}

  /** Sell again or dismiss: either way the clerk first says how the sale was settled. */
  function onAttentionClick(event) {
    const again = event.target.closest('[data-again]');
    const dismiss = event.target.closest('[data-dismiss]');
    const key = again ? again.dataset.again : dismiss ? dismiss.dataset.dismiss : null;
    if (!key) return;
    const sale = loadAttention().find((a) => a.key === key);
    if (!sale) return;
    if (again && basket.length) {
      window.alert(t('basket_busy'));
      return;
    }
    settling = { sale: sale, again: Boolean(again) };
    $('settle-title').textContent = again ? t('settle_again_title') : t('settle_dismiss_title');
    $('settle-sale').textContent = timeText(sale.created) + ' · ' + saleSummary(sale) + ' · ' + fen(sale.total_fen);
    $('settle-hint').textContent = again ? t('settle_again_hint') : t('settle_dismiss_hint');
    $('settle-ways').hidden = Boolean(again);
    document.querySelectorAll('#settle-ways input').forEach((r) => { r.checked = false; });
    $('settle-note').value = '';
    $('settle-error').hidden = true;
    $('settle-ok').textContent = again ? t('to_basket') : t('settle_send');
    updateSettle();
    openDialog($('settle-dialog'));
  }

  const chosenOutcome = () => {
    const chosen = document.querySelector('#settle-ways input:checked');
    return chosen ? chosen.value : null;
  };

  function updateSettle() {
    $('settle-ok').disabled = !settling || (!settling.again && !chosenOutcome());
  }

  /** Text the server takes: one line, no control characters, within its length. */
  const oneLine = (text, max) => String(text || '').replace(/[\u0000-\u001f\u007f]+/g, ' ').trim().slice(0, max);

  /** The record of a settled refused sale: the sale as it was sent, the money, the refusal and the outcome. */
  function settlementBody(sale, outcome, note, resoldKey) {
    const body = {
      idempotency_key: sale.key,
      lines: sale.body.lines.map((l) => ({ product_id: l.product_id, quantity: l.quantity })),
      payment_method: sale.body.payment_method,
      taken_fen: sale.total_fen,
      refused_error: oneLine(sale.error, 300) || '?',
      rung_up_at: new Date(sale.created).toISOString(),
      outcome: outcome,
      note: oneLine(note, 200),
    };
    if (typeof sale.body.tendered_fen === 'number') body.tendered_fen = sale.body.tendered_fen;
    if (sale.body.counter_id) body.counter_id = sale.body.counter_id;
    if (resoldKey) body.resold_key = resoldKey;
    return body;
  }

  /** Written down before it is sent, like a sale: false when the tablet cannot keep it. */
  function queueSettlement(sale, body) {
    const list = loadSettlements().filter((s) => s.key !== sale.key);
    list.push({ key: sale.key, body: body, created: Date.now() });
    return save(SETTLE_KEY, list);
  }

  function onSettleSubmit(event) {
    event.preventDefault();
    if (!settling || $('settle-ok').disabled) return;
    const sale = settling.sale;
    const note = $('settle-note').value;
    if (settling.again) {
      // The record goes with the new sale, naming it, once that sale is recorded or queued.
      if (!save(RESALE_KEY, { of: sale.key, note: note })) return showSettleError(t('storage_full'));
      basket = sale.lines.map((l) => ({ product_id: l.product_id, quantity: l.quantity, mode: l.mode, snap: l.snap }));
      saveBasket();
      renderGrid();
      $('queue-dialog').close();
    } else {
      const stale = loadAttention().map((a) => (a.key === sale.key ? Object.assign(a, { settleError: null }) : a));
      if (!queueSettlement(sale, settlementBody(sale, chosenOutcome(), note))) return showSettleError(t('storage_full'));
      save(ATTENTION_KEY, stale);
    }
    settling = null;
    $('settle-dialog').close();
    renderQueue();
    if (!$('settle-ways').hidden) syncQueue();
  }

  function showSettleError(message) {
    $('settle-error').textContent = message;
    $('settle-error').hidden = false;
  }

  /** A sale made from a refused one's basket settles it: the record names the new sale's key. */
  function settleResale(sale) {
    const resale = load(RESALE_KEY, null);
    const refused = resale && loadAttention().find((a) => a.key === resale.of);
    if (refused && queueSettlement(refused, settlementBody(refused, 'resold', resale.note, sale.key))) save(RESALE_KEY, null);
  }

  /** Send the queued records, oldest first; an entry leaves "needs attention" once its record is kept. */
  async function syncSettlements() {
    for (const item of loadSettlements()) {
      if (inFlight.has('settle:' + item.key)) continue;
      inFlight.add('settle:' + item.key);
      let outcome;
      try {
        outcome = await send(CFG.refusedUrl, item.body);
      } finally {
        inFlight.delete('settle:' + item.key);
      }
      // 409: the server already holds a record under this key (sent from another tab), or a sale.
      const kept = outcome.kind === 'recorded' || (outcome.kind === 'refused' && ['idempotency_key_reused', 'sale_recorded'].includes(outcome.code));
      if (kept) {
        // The entry goes first: a record left queued is only sent again and replayed, never lost.
        save(ATTENTION_KEY, loadAttention().filter((a) => a.key !== item.key));
      } else if (outcome.kind === 'refused') {
        save(ATTENTION_KEY, loadAttention().map((a) => (a.key === item.key ? Object.assign(a, { settleError: outcome.error }) : a)));
      } else {
        return;
      }
      save(SETTLE_KEY, loadSettlements().filter((s) => s.key !== item.key));
      renderQueue();
    }
  }

  /* ------------------------------------------------------------ wiring */

  function wire() {
    $('search').addEventListener('input', renderGrid);
    $('grid').addEventListener('click', onGridClick);
    $('basket').addEventListener('click', onBasketClick);
    $('clear-basket').addEventListener('click', () => { if (window.confirm(t('clear_confirm'))) clearBasket(); });
    $('checkout').addEventListener('click', openPayment);
    $('mini-checkout').addEventListener('click', openPayment);
    $('qty-form').addEventListener('submit', onQuantitySubmit);
    $('qty-input').addEventListener('input', updateQuantityPreview);
    $('qty-cancel').addEventListener('click', () => $('qty-dialog').close());
    $('keypad').addEventListener('click', onKeypad);
    $('unit-toggle').addEventListener('click', (e) => { const b = e.target.closest('[data-mode]'); if (b) setMode(b.dataset.mode, true); });
    $('qty-quick').addEventListener('click', (e) => {
      const b = e.target.closest('[data-value]');
      if (b) { $('qty-input').value = b.dataset.value; updateQuantityPreview(); }
    });
    $('methods').addEventListener('click', (e) => { const b = e.target.closest('[data-method]'); if (b) chooseMethod(b.dataset.method); });
    $('tendered').addEventListener('input', updateChange);
    $('cash-quick').addEventListener('click', (e) => {
      const b = e.target.closest('[data-fen]');
      if (b) { $('tendered').value = (Number(b.dataset.fen) / 100).toFixed(2); updateChange(); }
    });
    $('pay-form').addEventListener('submit', (e) => e.preventDefault());
    $('pay-back').addEventListener('click', () => $('pay-dialog').close());
    $('pay-dialog').addEventListener('cancel', (e) => { if (sending) e.preventDefault(); });
    $('pay-confirm').addEventListener('click', confirmSale);
    $('next-buyer').addEventListener('click', () => { $('done-dialog').close(); $('search').value = ''; renderGrid(); });
    $('queue-button').addEventListener('click', () => { renderQueue(); openDialog($('queue-dialog')); });
    $('attention-button').addEventListener('click', () => { renderQueue(); openDialog($('queue-dialog')); });
    $('queue-close').addEventListener('click', () => $('queue-dialog').close());
    $('sync-now').addEventListener('click', syncQueue);
    $('attention-list').addEventListener('click', onAttentionClick);
    $('settle-form').addEventListener('submit', onSettleSubmit);
    $('settle-ways').addEventListener('change', updateSettle);
    $('settle-cancel').addEventListener('click', () => { settling = null; $('settle-dialog').close(); });
    window.addEventListener('online', () => { setOnline(null, true); syncQueue(); refreshProducts(); });
    window.addEventListener('offline', () => setOnline(null, false));
    // Another tab of the till changed the queue or the basket.
    window.addEventListener('storage', (e) => { if ([QUEUE_KEY, ATTENTION_KEY, SETTLE_KEY, RESALE_KEY].includes(e.key)) renderQueue(); });
    document.addEventListener('visibilitychange', () => { if (!document.hidden) syncQueue(); });
    setInterval(syncQueue, SYNC_EVERY_MS);
  }

  function registerWorker() {
    // Service workers need a secure context (https, or 127.0.0.1); on plain http the queue still works.
    if (!('serviceWorker' in navigator) || !window.isSecureContext) return;
    navigator.serviceWorker.register(CFG.swUrl, { scope: CFG.scope }).catch(() => {});
  }

  wire();
  renderGrid();
  renderBasket();
  renderQueue();
  setOnline(null, navigator.onLine);
  syncQueue();
  refreshProducts();
  registerWorker();
}());
