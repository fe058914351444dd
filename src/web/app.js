/*
 * porthole web dashboard.
 * Copyright (c) 2026 The porthole authors. ISC licence; see COPYING.
 *
 * Plain JavaScript, no framework, nothing loaded from anywhere but the
 * server that serves this file. It calls the JSON API of the same
 * listener with "Authorization: Bearer KEY" (the key is kept in this tab's
 * sessionStorage only) and follows /events/stream (Server-Sent Events,
 * which cannot send headers: the key goes as ?access_token=).
 *
 * Every value from the server reaches the page through textContent or
 * an attribute, never as HTML.
 */
(function () {
  'use strict';

  const KEY_STORAGE = 'porthole.apikey';
  const POLL_MS = 3000; /* endpoints and sessions: counters */
  const MAX_CONNS = 1000; /* closed connections kept for the inspector */
  const SHOWN_CONNS = 300; /* rows of the inspector's table */
  const BUCKET_MS = 10000; /* charts: one bar per 10 s … */
  const BUCKETS = 60; /* … over the last 10 minutes */
  const MAX_PAGES = 10; /* pages of 100 fetched for a live list */
  const CONN_CLOSED = 'tcp_connection_closed.v0';
  const STREAM_TYPES = [
    CONN_CLOSED,
    'tcp_connections_refused.v0',
    'tcp_session_started.v0',
    'tcp_session_ended.v0',
    'tcp_endpoint_started.v0',
    'tcp_endpoint_stopped.v0',
    'tcp_address_created.v0',
    'tcp_address_updated.v0',
    'tcp_address_deleted.v0'
  ];
  const SVGNS = 'http://www.w3.org/2000/svg';

  const state = {
    key: null,
    loggedIn: false,
    admin: false,
    page: null,
    pageName: null,
    stream: null,
    streamRetry: null,
    pollTimer: null,
    tickTimer: null,
    endpointsSoon: null,
    endpoints: [],
    conns: [], /* tcp_connection_closed.v0 events, newest first */
    connIds: new Set(),
    openSamples: [] /* [time ms, open connections] from the endpoint list */
  };

  /* ---- small DOM helpers ------------------------------------------- */

  function $(sel, root) {
    return (root || document).querySelector(sel);
  }

  /* Make an element: attributes (text, class, on<event>, others as is)
   * and children (nodes or strings). */
  function h(tag, attrs) {
    const el = document.createElement(tag);
    setAttrs(el, attrs);
    for (let i = 2; i < arguments.length; i++)
      appendAll(el, arguments[i]);
    return el;
  }

  function svg(tag, attrs) {
    const el = document.createElementNS(SVGNS, tag);
    setAttrs(el, attrs);
    for (let i = 2; i < arguments.length; i++)
      appendAll(el, arguments[i]);
    return el;
  }

  function setAttrs(el, attrs) {
    if (!attrs)
      return;
    for (const k of Object.keys(attrs)) {
      const v = attrs[k];
      if (v === null || v === undefined || v === false)
        continue;
      if (k === 'text')
        el.textContent = v;
      else if (k === 'class')
        el.setAttribute('class', v);
      else if (k.startsWith('on') && typeof v === 'function')
        el.addEventListener(k.slice(2), v);
      else
        el.setAttribute(k, v === true ? '' : String(v));
    }
  }

  function appendAll(el, c) {
    if (c === null || c === undefined || c === false)
      return;
    if (Array.isArray(c)) {
      c.forEach((x) => appendAll(el, x));
      return;
    }
    el.append(c instanceof Node ? c : String(c));
  }

  /* A labelled input, select or textarea inside a .field div. */
  function field(id, label, control) {
    control.id = id;
    return h('div', { class: 'field' }, h('label', { for: id, text: label }),
      control);
  }

  /* ---- formatting ---------------------------------------------------- */

  function fmtBytes(n) {
    n = Number(n) || 0;
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) {
      n /= 1024;
      i++;
    }
    if (i === 0)
      return n + ' B';
    return n.toFixed(n < 10 ? 2 : n < 100 ? 1 : 0) + ' ' + units[i];
  }

  function fmtCount(n) {
    return (Number(n) || 0).toLocaleString();
  }

  function fmtTime(s) {
    if (!s)
      return '';
    const d = new Date(s);
    return isNaN(d.getTime()) ? String(s) : d.toLocaleString();
  }

  function fmtClock(ms) {
    return new Date(ms).toLocaleTimeString();
  }

  function fmtHourMinute(ms) {
    return new Date(ms).toLocaleTimeString([], {
      hour: '2-digit', minute: '2-digit'
    });
  }

  function fmtDuration(ms) {
    if (!(ms >= 0))
      return '';
    if (ms < 1000)
      return ms + ' ms';
    if (ms < 60000)
      return (ms / 1000).toFixed(ms < 10000 ? 2 : 1) + ' s';
    const s = Math.round(ms / 1000);
    const hh = Math.floor(s / 3600);
    const mm = Math.floor((s % 3600) / 60);
    const ss = s % 60;
    return (hh ? hh + ' h ' : '') + mm + ' min ' + ss + ' s';
  }

  /* Short text for whatever the API gives: an object reference, a list
   * of them, a string or a number. */
  function describe(v) {
    if (v === null || v === undefined || v === '')
      return '';
    if (Array.isArray(v))
      return v.map(describe).filter((x) => x).join(', ');
    if (typeof v === 'object') {
      if (v.name)
        return String(v.name);
      if (v.addr)
        return String(v.addr);
      if (v.id)
        return String(v.id);
      if (v.ip_policies)
        return describe(v.ip_policies);
      if (v.accounts)
        return describe(v.accounts);
      return JSON.stringify(v);
    }
    return String(v);
  }

  function bytesCell(n) {
    return { text: fmtBytes(n), title: (Number(n) || 0) + ' bytes', value: n };
  }

  /* ---- notices ------------------------------------------------------- */

  let noticeTimer = null;

  function notify(msg, kind) {
    const n = $('#notice');
    clearTimeout(noticeTimer);
    n.textContent = msg;
    n.className = 'notice ' + (kind || '');
    n.hidden = false;
    if (kind !== 'error')
      noticeTimer = setTimeout(() => { n.hidden = true; }, 8000);
  }

  function clearNotice() {
    clearTimeout(noticeTimer);
    $('#notice').hidden = true;
  }

  /* ---- the API ------------------------------------------------------- */

  class ApiError extends Error {
    constructor(status, code, msg) {
      super(msg);
      this.status = status;
      this.code = code;
    }
  }

  /* Call the API; resolve to the parsed JSON (null for 204), or reject
   * with an ApiError whose message is the server's "msg". */
  async function api(method, path, body) {
    const headers = {
      Authorization: 'Bearer ' + state.key,
      Accept: 'application/json'
    };
    const init = { method: method, headers: headers, cache: 'no-store' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(path, init);
    } catch (e) {
      throw new ApiError(0, 'NETWORK',
        'The server cannot be reached (' + e.message + ').');
    }
    if (res.status === 204)
      return null;
    const text = await res.text();
    let data = null;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch (e) {
        data = null;
      }
    }
    if (!res.ok) {
      const msg = data && typeof data.msg === 'string' ? data.msg :
        (res.status + ' ' + res.statusText).trim();
      if (res.status === 401 && state.loggedIn)
        logout('The server refused the API key: ' + msg);
      throw new ApiError(res.status, data && data.error_code, msg);
    }
    return data;
  }

  /* next_page_uri and uri are absolute (the server's idea of its base);
   * fetch them from this origin, which is where the page came from. */
  function localUri(uri) {
    try {
      const u = new URL(uri, location.href);
      return u.pathname + u.search;
    } catch (e) {
      return uri;
    }
  }

  /* Fetch up to <pages> pages of a list; resolve to {items, next}. */
  async function fetchList(path, plural, pages) {
    let items = [];
    let next = path;
    for (let n = 0; next && n < pages; n++) {
      const d = await api('GET', next);
      items = items.concat((d && d[plural]) || []);
      next = d && d.next_page_uri ? localUri(d.next_page_uri) : null;
    }
    return { items: items, next: next };
  }

  function idPath(base, id) {
    return base + '/' + encodeURIComponent(id);
  }

  /* ---- tables -------------------------------------------------------- */

  /*
   * A table whose rows are keyed by the items' ids and updated in place,
   * so that polling never takes the focus away from a button. cols:
   * [{key, label, num, get(item) → string | Node | {text, title}}];
   * opts.actions(tr) fills the last cell once per row (tr.item is the
   * current item).
   */
  function makeTable(caption, cols, opts) {
    opts = opts || {};
    const tbody = h('tbody');
    const head = h('tr', null, cols.map((c) => h('th', {
      scope: 'col', class: c.num ? 'num' : null, text: c.label
    })));
    if (opts.actions)
      head.append(h('th', { scope: 'col', text: 'Actions' }));
    const table = h('table', { id: opts.id }, h('caption', { text: caption }),
      h('thead', null, head), tbody);
    const rows = new Map();
    const ncols = cols.length + (opts.actions ? 1 : 0);

    function setCell(td, v) {
      if (v instanceof Node) {
        td.replaceChildren(v);
        return;
      }
      let text = v;
      let title = null;
      if (v && typeof v === 'object') {
        text = v.text;
        title = v.title;
        if (v.value !== undefined)
          td.dataset.value = String(v.value);
      }
      text = text === null || text === undefined || text === '' ? '—' :
        String(text);
      if (td.textContent !== text || td.children.length)
        td.textContent = text;
      if (title)
        td.title = title;
    }

    function update(items) {
      if (!items.length) {
        rows.clear();
        tbody.replaceChildren(h('tr', { class: 'none' }, h('td', {
          class: 'empty', colspan: ncols, text: opts.empty || 'None.'
        })));
        return;
      }
      const none = tbody.querySelector('tr.none');
      if (none)
        none.remove();
      const seen = new Set();
      let prev = null;
      for (const item of items) {
        seen.add(item.id);
        let tr = rows.get(item.id);
        const fresh = !tr;
        if (fresh) {
          tr = h('tr', { 'data-id': item.id });
          for (const c of cols)
            tr.append(h('td', {
              'data-col': c.key, 'data-label': c.label,
              class: c.num ? 'num' : null
            }));
          if (opts.actions)
            tr.append(h('td', { class: 'actions' }));
          rows.set(item.id, tr);
        }
        tr.item = item;
        cols.forEach((c, i) => setCell(tr.children[i], c.get(item)));
        if (fresh && opts.actions)
          opts.actions(tr, tr.lastChild);
        const want = prev ? prev.nextSibling : tbody.firstChild;
        if (want !== tr)
          tbody.insertBefore(tr, want);
        prev = tr;
      }
      for (const [id, tr] of rows) {
        if (!seen.has(id)) {
          tr.remove();
          rows.delete(id);
        }
      }
    }

    tbody.append(h('tr', { class: 'none' }, h('td', {
      class: 'empty', colspan: ncols, text: 'Loading…'
    })));
    return { el: h('div', { class: 'table-wrap' }, table), update: update };
  }

  /* A button that asks for a second press before it acts. */
  function confirmButton(label, what, action) {
    const b = h('button', {
      type: 'button', class: 'danger', text: label,
      'aria-label': label + ' ' + what
    });
    let timer = null;
    function disarm() {
      clearTimeout(timer);
      b.classList.remove('armed');
      b.textContent = label;
      b.setAttribute('aria-label', label + ' ' + what);
    }
    b.addEventListener('click', async () => {
      if (!b.classList.contains('armed')) {
        b.classList.add('armed');
        b.textContent = 'Confirm ' + label.toLowerCase();
        b.setAttribute('aria-label', 'Confirm: ' + label.toLowerCase() +
          ' ' + what);
        timer = setTimeout(disarm, 5000);
        return;
      }
      disarm();
      b.disabled = true;
      try {
        await action();
      } catch (e) {
        notify(e.message, 'error');
      } finally {
        b.disabled = false;
      }
    });
    return b;
  }

  /* Run a form's action on submit (Enter works in every field); report
   * the outcome. */
  function onSubmit(form, action) {
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const buttons = form.querySelectorAll('button');
      buttons.forEach((b) => { b.disabled = true; });
      try {
        await action();
      } catch (err) {
        notify(err.message, 'error');
      } finally {
        buttons.forEach((b) => { b.disabled = false; });
      }
    });
  }

  function pageHeader(title, hint) {
    return [h('h1', { text: title, tabindex: '-1' }),
      hint ? h('p', { class: 'hint', text: hint }) : null];
  }

  /* ---- pages --------------------------------------------------------- */

  function endpointsPage() {
    const table = makeTable('Live endpoints', [
      { key: 'url', label: 'URL', get: (e) => e.public_url },
      { key: 'type', label: 'Type', get: (e) => e.type },
      { key: 'account', label: 'Account', get: (e) => describe(e.account) },
      {
        key: 'session', label: 'Session',
        get: (e) => e.tunnel_session && e.tunnel_session.id
      },
      { key: 'node', label: 'Node', get: (e) => describe(e.node) },
      {
        key: 'open', label: 'Open', num: true,
        get: (e) => fmtCount(e.conns_open)
      },
      {
        key: 'total', label: 'Total', num: true,
        get: (e) => fmtCount(e.conns_total)
      },
      { key: 'in', label: 'In', num: true, get: (e) => bytesCell(e.bytes_in) },
      {
        key: 'out', label: 'Out', num: true,
        get: (e) => bytesCell(e.bytes_out)
      }
    ], { id: 'endpoints-table', empty: 'No live endpoint: nobody is connected.' });
    return {
      title: 'Endpoints',
      mount(view) {
        view.append(...pageHeader('Live endpoints',
          'The public addresses being served now. In: what clients sent; ' +
          'out: what they were sent.'), table.el);
      },
      refresh() {
        return pollEndpoints();
      },
      endpoints(items) {
        table.update(items);
      }
    };
  }

  function sessionsPage() {
    const table = makeTable('SSH sessions', [
      { key: 'id', label: 'Session', get: (s) => s.id },
      { key: 'account', label: 'Account', get: (s) => describe(s.account) },
      { key: 'user', label: 'User', get: (s) => s.user },
      { key: 'ip', label: 'From', get: (s) => s.ip },
      { key: 'node', label: 'Node', get: (s) => describe(s.node) },
      { key: 'started', label: 'Started', get: (s) => fmtTime(s.started_at) },
      {
        key: 'endpoints', label: 'Endpoints', num: true,
        get: (s) => s.endpoints === undefined ? '' : fmtCount(s.endpoints)
      },
      {
        key: 'open', label: 'Open', num: true,
        get: (s) => fmtCount(s.conns_open)
      },
      {
        key: 'total', label: 'Total', num: true,
        get: (s) => fmtCount(s.conns_total)
      },
      { key: 'in', label: 'In', num: true, get: (s) => bytesCell(s.bytes_in) },
      {
        key: 'out', label: 'Out', num: true,
        get: (s) => bytesCell(s.bytes_out)
      }
    ], {
      id: 'sessions-table',
      empty: 'No session: nobody is connected.',
      actions(tr, td) {
        const id = tr.item.id;
        const b = h('button', {
          type: 'button', class: 'danger', text: 'Stop',
          'aria-label': 'Stop session ' + id
        });
        b.addEventListener('click', async () => {
          b.disabled = true;
          try {
            await api('POST', idPath('/tunnel_sessions', id) + '/stop');
            notify('Session ' + id + ' stopped: its ssh client is ' +
              'disconnected.', 'ok');
            page.refresh();
          } catch (e) {
            notify(e.message, 'error');
          } finally {
            b.disabled = false;
          }
        });
        td.append(b);
      }
    });
    const page = {
      title: 'Sessions',
      mount(view) {
        view.append(...pageHeader('Sessions',
          'SSH connections holding tunnels. Stop disconnects the ssh ' +
          'client; it may connect again.'), table.el);
      },
      async refresh() {
        const r = await fetchList('/tunnel_sessions?limit=100',
          'tunnel_sessions', MAX_PAGES);
        table.update(r.items);
      },
      poll() {
        return page.refresh();
      },
      onEvent(ev) {
        if (/^tcp_session_/.test(ev.event_type))
          page.refresh().catch(() => {});
      }
    };
    return page;
  }

  function addressesPage() {
    let pages = 1;
    let next = null;
    const more = h('button', {
      type: 'button', class: 'quiet more', text: 'Show more', hidden: true
    });
    const account = h('select', { name: 'account' });
    const accountField = field('reserve-account', 'Account', account);
    accountField.hidden = true;
    const descr = h('input', { name: 'description', maxlength: '255' });
    const meta = h('input', { name: 'metadata', maxlength: '4096' });
    const reserveForm = h('form', {
      id: 'reserve-form', class: 'inline', 'aria-label': 'Reserve an address'
    }, accountField, field('reserve-description', 'Description', descr),
    field('reserve-metadata', 'Metadata', meta),
    h('button', { type: 'submit', text: 'Reserve' }));

    const editDescr = h('input', { name: 'description', maxlength: '255' });
    const editMeta = h('input', { name: 'metadata', maxlength: '4096' });
    const editProxy = h('select', { name: 'proxy_proto' },
      h('option', { value: '0', text: 'off' }),
      h('option', { value: '1', text: 'v1 (text)' }),
      h('option', { value: '2', text: 'v2 (binary)' }));
    const editPolicy = h('select', { name: 'ip_policy_id' },
      h('option', { value: '', text: 'none' }));
    const editTitle = h('h2', { id: 'edit-title', text: 'Edit' });
    const cancel = h('button', { type: 'button', class: 'quiet', text: 'Cancel' });
    const editForm = h('form', {
      id: 'edit-form', class: 'inline', 'aria-labelledby': 'edit-title'
    }, field('edit-description', 'Description', editDescr),
    field('edit-metadata', 'Metadata', editMeta),
    field('edit-proxy', 'PROXY protocol', editProxy),
    field('edit-policy', 'IP policy', editPolicy),
    h('button', { type: 'submit', text: 'Save' }), cancel);
    const editPanel = h('section', { id: 'edit-panel', hidden: true },
      editTitle, editForm);
    let editing = null; /* {id, button} */

    function closeEditor() {
      editPanel.hidden = true;
      if (editing && editing.button.isConnected)
        editing.button.focus();
      editing = null;
    }

    const table = makeTable('Reserved TCP addresses', [
      { key: 'addr', label: 'Address', get: (a) => a.addr },
      { key: 'description', label: 'Description', get: (a) => a.description },
      { key: 'metadata', label: 'Metadata', get: (a) => a.metadata },
      { key: 'account', label: 'Account', get: (a) => describe(a.account) },
      {
        key: 'endpoint', label: 'Served by',
        get: (a) => a.endpoint ? a.endpoint.id : 'not in use'
      },
      {
        key: 'proxy', label: 'PROXY',
        get: (a) => a.proxy_proto ? 'v' + a.proxy_proto : 'off'
      },
      { key: 'policy', label: 'IP policy', get: (a) => policyName(a.ip_policy) },
      { key: 'created', label: 'Reserved', get: (a) => fmtTime(a.created_at) }
    ], {
      id: 'addresses-table',
      empty: 'No reserved address yet.',
      actions(tr, td) {
        const id = tr.item.id;
        const addr = tr.item.addr;
        const edit = h('button', {
          type: 'button', class: 'quiet', text: 'Edit',
          'aria-label': 'Edit ' + addr
        });
        edit.addEventListener('click', () => {
          const a = tr.item;
          editing = { id: id, button: edit, item: a };
          editTitle.textContent = 'Edit ' + a.addr;
          editDescr.value = a.description || '';
          editMeta.value = a.metadata || '';
          editProxy.value = String(a.proxy_proto || 0);
          setPolicyChoice(a.ip_policy);
          editPanel.hidden = false;
          editDescr.focus();
        });
        td.append(edit, confirmButton('Delete', addr, async () => {
          await api('DELETE', idPath('/reserved_addrs', id));
          notify('Deleted ' + addr + '; it will never be handed out again.',
            'ok');
          if (editing && editing.id === id)
            closeEditor();
          await page.refresh();
        }));
      }
    });

    onSubmit(reserveForm, async () => {
      const body = { description: descr.value, metadata: meta.value };
      if (state.admin)
        body.account = account.value;
      const a = await api('POST', '/reserved_addrs', body);
      notify('Reserved ' + (a && a.addr) + '.', 'ok');
      descr.value = '';
      meta.value = '';
      await page.refresh();
    });
    onSubmit(editForm, async () => {
      if (!editing)
        return;
      const body = { description: editDescr.value, metadata: editMeta.value };
      /* Only what changed: attaching a policy may need an administrator. */
      const proxy = Number(editProxy.value);
      if (proxy !== (editing.item.proxy_proto || 0))
        body.proxy_proto = proxy;
      const was = editing.item.ip_policy ? editing.item.ip_policy.id : '';
      if (editPolicy.value !== was)
        body.ip_policy_id = editPolicy.value || null;
      const a = await api('PATCH', idPath('/reserved_addrs', editing.id), body);
      notify('Saved ' + (a && a.addr ? a.addr : editing.id) + '.', 'ok');
      closeEditor();
      await page.refresh();
    });
    cancel.addEventListener('click', closeEditor);
    editForm.addEventListener('keydown', (e) => {
      if (e.key === 'Escape')
        closeEditor();
    });
    more.addEventListener('click', async () => {
      pages++;
      try {
        await page.refresh();
      } catch (e) {
        notify(e.message, 'error');
      }
    });

    /* IP policies by id, for names and the editor's choice. */
    const policies = new Map();

    function policyName(ref) {
      if (!ref || !ref.id)
        return '';
      const p = policies.get(ref.id);
      return p && p.name ? p.name : ref.id;
    }

    function setPolicyChoice(ref) {
      const id = ref && ref.id ? ref.id : '';
      if (id && !policies.has(id))
        editPolicy.append(h('option', { value: id, text: id }));
      editPolicy.value = id;
    }

    async function loadPolicies() {
      try {
        const r = await fetchList('/ip_policies?limit=100', 'ip_policies',
          MAX_PAGES);
        for (const p of r.items)
          policies.set(p.id, p);
        editPolicy.replaceChildren(h('option', { value: '', text: 'none' }),
          ...r.items.map((p) => h('option', { value: p.id,
            text: p.name || p.id })));
        if (editing)
          setPolicyChoice(editing.item.ip_policy);
        await page.refresh();
      } catch (e) {
        /* Without the list, the editor offers only "none" and the
         * current policy; the table shows ids. */
      }
    }

    async function loadAccounts() {
      if (!state.admin)
        return;
      try {
        const r = await fetchList('/accounts?limit=100', 'accounts', MAX_PAGES);
        account.replaceChildren(...r.items.map((ac) => h('option', {
          value: ac.id, text: ac.name || ac.id
        })));
        accountField.hidden = false;
      } catch (e) {
        /* Without the list, the account is typed in (id or name). */
        const input = h('input', { name: 'account', required: true });
        input.id = 'reserve-account';
        account.replaceWith(input);
        accountField.hidden = false;
      }
    }

    const page = {
      title: 'TCP addresses',
      mount(view) {
        view.append(...pageHeader('TCP addresses',
          'Reserved host:port pairs: only their account can serve them ' +
          '(ssh -R PORT:… on the reserved host). A deleted address is ' +
          'never handed out again.'), reserveForm, editPanel, table.el, more);
        loadAccounts();
        loadPolicies();
      },
      async refresh() {
        const r = await fetchList('/reserved_addrs?limit=100',
          'reserved_addrs', pages);
        next = r.next;
        more.hidden = !next;
        table.update(r.items);
      },
      onEvent(ev) {
        if (/^tcp_(address|endpoint)_/.test(ev.event_type))
          page.refresh().catch(() => {});
      }
    };
    /* The account field of a non-admin key is its own account. */
    if (state.admin)
      account.required = true;
    return page;
  }

  function policiesPage() {
    const name = h('input', { name: 'name', required: true, maxlength: '64' });
    const descr = h('input', { name: 'description', maxlength: '255' });
    const createForm = h('form', {
      id: 'policy-form', class: 'inline', 'aria-label': 'Create an IP policy'
    }, field('policy-name', 'Name', name),
    field('policy-description', 'Description', descr),
    h('button', { type: 'submit', text: 'Create policy' }));
    const list = h('div', { class: 'cards', id: 'policies' });

    onSubmit(createForm, async () => {
      const p = await api('POST', '/ip_policies', {
        name: name.value, description: descr.value
      });
      notify('Created IP policy ' + (p && (p.name || p.id)) + '.', 'ok');
      name.value = '';
      descr.value = '';
      await page.refresh();
    });

    function policyCard(p, rules) {
      const pid = p.id;
      const label = p.name || pid;
      const rtable = makeTable('Rules of ' + label, [
        { key: 'action', label: 'Action', get: (r) => r.action },
        { key: 'cidr', label: 'CIDR', get: (r) => r.cidr },
        { key: 'description', label: 'Description', get: (r) => r.description }
      ], {
        empty: 'No rule: this policy admits everyone.',
        actions(tr, td) {
          const r = tr.item;
          td.append(confirmButton('Delete', 'rule ' + r.action + ' ' + r.cidr,
            async () => {
              await api('DELETE', idPath('/ip_policy_rules', r.id));
              notify('Deleted rule ' + r.action + ' ' + r.cidr + '.', 'ok');
              await page.refresh();
            }));
        }
      });
      rtable.update(rules);
      const action = h('select', { name: 'action' },
        h('option', { value: 'allow', text: 'allow' }),
        h('option', { value: 'deny', text: 'deny' }));
      const cidr = h('input', {
        name: 'cidr', required: true, placeholder: '203.0.113.0/24',
        spellcheck: 'false'
      });
      const rdescr = h('input', { name: 'description', maxlength: '255' });
      const ruleForm = h('form', {
        class: 'inline', 'aria-label': 'Add a rule to ' + label
      }, field('rule-action-' + pid, 'Action', action),
      field('rule-cidr-' + pid, 'CIDR', cidr),
      field('rule-description-' + pid, 'Description', rdescr),
      h('button', { type: 'submit', text: 'Add rule' }));
      onSubmit(ruleForm, async () => {
        await api('POST', '/ip_policy_rules', {
          ip_policy_id: pid, action: action.value, cidr: cidr.value,
          description: rdescr.value
        });
        notify('Added rule ' + action.value + ' ' + cidr.value + ' to ' +
          label + '.', 'ok');
        await page.refresh();
        const again = document.getElementById('rule-cidr-' + pid);
        if (again)
          again.focus();
      });
      return h('section', { class: 'card', 'data-id': pid },
        h('h2', { text: label }),
        h('p', { class: 'hint', text: (p.description ? p.description + ' · ' :
          '') + pid }),
        rtable.el, ruleForm,
        confirmButton('Delete policy', label, async () => {
          await api('DELETE', idPath('/ip_policies', pid));
          notify('Deleted IP policy ' + label + '.', 'ok');
          await page.refresh();
        }));
    }

    const page = {
      title: 'IP policies',
      mount(view) {
        view.append(...pageHeader('IP policies',
          'Named sets of allow and deny rules, attached to accounts, ' +
          'addresses and edges. A matching deny wins; if there are allow ' +
          'rules, one must match.'), createForm, list);
      },
      async refresh() {
        const ps = await fetchList('/ip_policies?limit=100', 'ip_policies',
          MAX_PAGES);
        const rs = await fetchList('/ip_policy_rules?limit=100',
          'ip_policy_rules', MAX_PAGES);
        const byPolicy = new Map();
        for (const r of rs.items) {
          const k = r.ip_policy && r.ip_policy.id;
          if (!byPolicy.has(k))
            byPolicy.set(k, []);
          byPolicy.get(k).push(r);
        }
        list.replaceChildren(...ps.items.map((p) =>
          policyCard(p, byPolicy.get(p.id) || [])));
        if (!ps.items.length)
          list.append(h('p', { class: 'hint', text: 'No IP policy yet.' }));
      }
    };
    return page;
  }

  function edgesPage() {
    const descr = h('input', { name: 'description', maxlength: '255' });
    const backends = h('input', {
      name: 'backend_accounts', placeholder: 'alice, bob', spellcheck: 'false'
    });
    const proxy = h('select', { name: 'proxy_proto' },
      h('option', { value: '0', text: 'off' }),
      h('option', { value: '1', text: 'v1 (text)' }),
      h('option', { value: '2', text: 'v2 (binary)' }));
    const createForm = h('form', {
      id: 'edge-form', class: 'inline', 'aria-label': 'Create an edge'
    }, field('edge-description', 'Description', descr),
    field('edge-backends', 'Backend accounts', backends),
    field('edge-proxy', 'PROXY protocol', proxy),
    h('button', { type: 'submit', text: 'Create edge' }));
    onSubmit(createForm, async () => {
      const body = {
        description: descr.value,
        backend_accounts: backends.value.split(/[\s,]+/).filter((x) => x)
      };
      if (proxy.value !== '0')
        body.proxy_proto = Number(proxy.value);
      const e = await api('POST', '/edges/tcp', body);
      notify('Created edge ' + (e && e.id) + ' on ' +
        describe(e && e.hostports) + '.', 'ok');
      descr.value = '';
      backends.value = '';
      proxy.value = '0';
      await page.refresh();
    });
    const table = makeTable('TCP edges', [
      { key: 'id', label: 'Edge', get: (e) => e.id },
      { key: 'description', label: 'Description', get: (e) => e.description },
      { key: 'hostports', label: 'Addresses', get: (e) => describe(e.hostports) },
      { key: 'backend', label: 'Backend', get: (e) => describe(e.backend) },
      {
        key: 'policies', label: 'IP policies',
        get: (e) => describe(e.ip_restriction)
      },
      {
        key: 'proxy', label: 'PROXY',
        get: (e) => e.proxy_proto ? 'v' + e.proxy_proto : 'off'
      },
      { key: 'created', label: 'Created', get: (e) => fmtTime(e.created_at) }
    ], {
      id: 'edges-table',
      empty: 'No edge yet.',
      actions(tr, td) {
        const e = tr.item;
        td.append(confirmButton('Delete', 'edge ' + e.id, async () => {
          await api('DELETE', idPath('/edges/tcp', e.id));
          notify('Deleted edge ' + e.id + '.', 'ok');
          await page.refresh();
        }));
      }
    });
    const page = {
      title: 'Edges',
      mount(view) {
        view.append(...pageHeader('Edges',
          'Fixed public addresses that spread their connections over the ' +
          'sessions of the backend accounts.'), createForm, table.el);
      },
      async refresh() {
        const r = await fetchList('/edges/tcp?limit=100', 'tcp_edges',
          MAX_PAGES);
        table.update(r.items);
      }
    };
    return page;
  }

  /* ---- the inspector and its charts ---------------------------------- */

  function connOf(ev) {
    const o = ev.object || {};
    const c = o.conn || {};
    const start = Date.parse(c.start_ts);
    const end = Date.parse(c.end_ts) || Date.parse(ev.event_timestamp) ||
      Date.now();
    return {
      id: ev.event_id,
      end: end,
      duration: start >= 0 ? end - start : NaN,
      client: c.client_ip !== undefined ?
        (String(c.client_ip).indexOf(':') >= 0 ? '[' + c.client_ip + ']' :
          c.client_ip) + ':' + c.client_port : '',
      clientIp: c.client_ip || '',
      endpointId: (o.endpoint && o.endpoint.id) || '',
      url: (o.endpoint && o.endpoint.url) || '',
      bytesIn: Number(c.bytes_in) || 0,
      bytesOut: Number(c.bytes_out) || 0,
      decision: (o.ip_policy && o.ip_policy.decision) || 'allow',
      account: ev.account_id || ''
    };
  }

  function chartBox(title, legend) {
    const box = h('figure', { class: 'card chart' });
    const cap = h('figcaption', null, h('h2', { text: title }));
    const holder = h('div');
    box.append(cap, holder, legend);
    return { el: box, holder: holder };
  }

  /* Draw series over the last BUCKETS buckets into holder as an SVG.
   * kind "bars": stacked bars of series; "lines": one polyline each. */
  function drawChart(holder, label, kind, series, fmtY, nowMs) {
    const W = 360;
    const H = 150;
    const L = 44;
    const B = 16;
    const T = 8;
    const n = BUCKETS;
    let max = 0;
    for (let i = 0; i < n; i++) {
      if (kind === 'bars') {
        let sum = 0;
        series.forEach((s) => { sum += s.values[i] || 0; });
        max = Math.max(max, sum);
      } else {
        series.forEach((s) => {
          if (s.values[i] !== null)
            max = Math.max(max, s.values[i] || 0);
        });
      }
    }
    if (max <= 0)
      max = 1;
    const pw = W - L - 4;
    const ph = H - B - T;
    const bw = pw / n;
    const y = (v) => T + ph - (v / max) * ph;
    const root = svg('svg', {
      viewBox: '0 0 ' + W + ' ' + H, role: 'img', 'aria-label': label
    }, svg('title', { text: label }));
    root.append(svg('line', {
      class: 'axis', x1: L, y1: T + ph, x2: W - 4, y2: T + ph
    }), svg('line', { class: 'axis', x1: L, y1: T, x2: L, y2: T + ph }));
    root.append(svg('text', { x: L - 4, y: T + 10, 'text-anchor': 'end',
      text: fmtY(max) }));
    root.append(svg('text', { x: L - 4, y: T + ph, 'text-anchor': 'end',
      text: fmtY(0) }));
    root.append(svg('text', { x: L, y: H - 4,
      text: fmtHourMinute(nowMs - n * BUCKET_MS) }));
    root.append(svg('text', { x: W - 4, y: H - 4, 'text-anchor': 'end',
      text: 'now' }));
    if (kind === 'bars') {
      for (let i = 0; i < n; i++) {
        let base = 0;
        for (const s of series) {
          const v = s.values[i] || 0;
          if (v > 0) {
            const y0 = y(base);
            const y1 = y(base + v);
            root.append(svg('rect', {
              class: s.cls, x: (L + i * bw + 1).toFixed(1), y: y1.toFixed(1),
              width: Math.max(1, bw - 2).toFixed(1),
              height: Math.max(1, y0 - y1).toFixed(1)
            }));
          }
          base += v;
        }
      }
    } else {
      for (const s of series) {
        let pts = [];
        const flush = () => {
          if (pts.length === 1)
            pts.push(pts[0].replace(/^[\d.]+/, (x) =>
              (Number(x) + bw / 2).toFixed(1)));
          if (pts.length)
            root.append(svg('polyline', { class: s.cls, points: pts.join(' ') }));
          pts = [];
        };
        for (let i = 0; i < n; i++) {
          const v = s.values[i];
          if (v === null || v === undefined) {
            flush();
            continue;
          }
          pts.push((L + i * bw + bw / 2).toFixed(1) + ',' + y(v).toFixed(1));
        }
        flush();
      }
    }
    holder.replaceChildren(root);
  }

  function inspectorPage() {
    const text = h('input', {
      type: 'search', name: 'q', spellcheck: 'false',
      placeholder: 'client IP, endpoint URL or id'
    });
    const decision = h('select', { name: 'decision' },
      h('option', { value: '', text: 'any' }),
      h('option', { value: 'allow', text: 'allowed' }),
      h('option', { value: 'deny', text: 'denied' }));
    const count = h('p', { class: 'hint', id: 'inspector-count',
      'aria-live': 'polite' });
    const filterForm = h('form', {
      id: 'filter-form', class: 'inline', role: 'search',
      'aria-label': 'Filter connections'
    }, field('filter-text', 'Filter', text),
    field('filter-decision', 'Decision', decision),
    h('button', { type: 'submit', text: 'Filter' }),
    h('button', { type: 'reset', class: 'quiet', text: 'Clear' }));

    const connsChart = chartBox('Connections closed per 10 s',
      h('p', { class: 'legend' }, h('span', { class: 'k-allow', text: 'allowed' }),
        h('span', { class: 'k-deny', text: 'denied' })));
    const bytesChart = chartBox('Bytes per 10 s',
      h('p', { class: 'legend' }, h('span', { class: 'k-in', text: 'in' }),
        h('span', { class: 'k-out', text: 'out' })));
    const openChart = chartBox('Open connections',
      h('p', { class: 'legend' }, h('span', { class: 'k-open',
        text: 'open, all live endpoints' })));

    const table = makeTable('Closed TCP connections, newest first', [
      { key: 'time', label: 'Closed', get: (c) => fmtClock(c.end) },
      { key: 'client', label: 'Client', get: (c) => c.client },
      { key: 'url', label: 'Endpoint', get: (c) => c.url || c.endpointId },
      { key: 'duration', label: 'Duration', num: true,
        get: (c) => fmtDuration(c.duration) },
      { key: 'in', label: 'In', num: true, get: (c) => bytesCell(c.bytesIn) },
      { key: 'out', label: 'Out', num: true, get: (c) => bytesCell(c.bytesOut) },
      {
        key: 'decision', label: 'Decision',
        get: (c) => h('span', { class: 'badge ' + c.decision,
          text: c.decision })
      }
    ], { id: 'inspector-table',
      empty: 'No closed connection yet. They appear here as they close.' });

    function matches(c) {
      if (decision.value && c.decision !== decision.value)
        return false;
      const q = text.value.trim().toLowerCase();
      if (!q)
        return true;
      return [c.client, c.url, c.endpointId, c.account].some((s) =>
        s.toLowerCase().indexOf(q) >= 0);
    }

    let frame = 0;
    function render() {
      frame = 0;
      const shown = state.conns.filter(matches);
      table.update(shown.slice(0, SHOWN_CONNS));
      count.textContent = shown.length + ' of ' + state.conns.length +
        ' connections' + (shown.length > SHOWN_CONNS ? ' (newest ' +
          SHOWN_CONNS + ' shown)' : '') + '.';
      drawCharts(shown);
    }
    function later() {
      if (!frame)
        frame = requestAnimationFrame(render);
    }

    function drawCharts(conns) {
      const now = Math.ceil(Date.now() / BUCKET_MS) * BUCKET_MS;
      const first = now - BUCKETS * BUCKET_MS;
      const allow = new Array(BUCKETS).fill(0);
      const deny = new Array(BUCKETS).fill(0);
      const bin = new Array(BUCKETS).fill(0);
      const bout = new Array(BUCKETS).fill(0);
      let total = 0;
      for (const c of conns) {
        if (c.end < first || c.end >= now)
          continue;
        const i = Math.floor((c.end - first) / BUCKET_MS);
        (c.decision === 'deny' ? deny : allow)[i]++;
        bin[i] += c.bytesIn;
        bout[i] += c.bytesOut;
        total++;
      }
      const open = new Array(BUCKETS).fill(null);
      for (const [t, v] of state.openSamples) {
        if (t < first || t >= now)
          continue;
        const i = Math.floor((t - first) / BUCKET_MS);
        open[i] = Math.max(open[i] || 0, v);
      }
      const nd = deny.reduce((a, b) => a + b, 0);
      drawChart(connsChart.holder, 'Connections closed in the last ' +
        (BUCKETS * BUCKET_MS / 60000) + ' minutes: ' + total + ', ' + nd +
        ' denied', 'bars', [
        { cls: 'bar-allow', values: allow }, { cls: 'bar-deny', values: deny }
      ], (v) => String(Math.round(v)), now);
      drawChart(bytesChart.holder, 'Bytes per 10 seconds, in: ' +
        fmtBytes(bin.reduce((a, b) => a + b, 0)) + ', out: ' +
        fmtBytes(bout.reduce((a, b) => a + b, 0)), 'lines', [
        { cls: 'line-in', values: bin }, { cls: 'line-out', values: bout }
      ], fmtBytes, now);
      const last = state.openSamples.length ?
        state.openSamples[state.openSamples.length - 1][1] : 0;
      drawChart(openChart.holder, 'Open connections now: ' + last, 'lines',
        [{ cls: 'line-open', values: open }], (v) => String(Math.round(v)),
        now);
    }

    filterForm.addEventListener('submit', (e) => {
      e.preventDefault();
      render();
    });
    filterForm.addEventListener('reset', () => setTimeout(render, 0));
    text.addEventListener('input', later);
    decision.addEventListener('change', later);

    return {
      title: 'Inspector',
      mount(view) {
        view.append(...pageHeader('TCP traffic inspector',
          'Connections through your endpoints, as they close, live. In: ' +
          'what the client sent; out: what it was sent.'),
        h('div', { class: 'charts' }, connsChart.el, bytesChart.el,
          openChart.el), filterForm, count, table.el);
        render();
      },
      refresh() {
        render();
        return Promise.resolve();
      },
      tick: later,
      conns: later,
      endpoints: later
    };
  }

  /* ---- live data: endpoints poll, event stream ---------------------- */

  async function pollEndpoints() {
    const r = await fetchList('/endpoints?limit=100', 'endpoints', MAX_PAGES);
    state.endpoints = r.items;
    const now = Date.now();
    const open = r.items.reduce((a, e) => a + (Number(e.conns_open) || 0), 0);
    state.openSamples.push([now, open]);
    while (state.openSamples.length &&
      state.openSamples[0][0] < now - BUCKETS * BUCKET_MS)
      state.openSamples.shift();
    if (state.page && state.page.endpoints)
      state.page.endpoints(r.items);
  }

  function endpointsSoon() {
    clearTimeout(state.endpointsSoon);
    state.endpointsSoon = setTimeout(() => {
      pollEndpoints().catch(() => {});
    }, 150);
  }

  function addConn(ev) {
    if (!ev || !ev.event_id || state.connIds.has(ev.event_id))
      return false;
    const c = connOf(ev);
    state.connIds.add(c.id);
    /* Newest first; the stream delivers in order, history may not. */
    let i = 0;
    while (i < state.conns.length && state.conns[i].end > c.end)
      i++;
    state.conns.splice(i, 0, c);
    while (state.conns.length > MAX_CONNS)
      state.connIds.delete(state.conns.pop().id);
    return true;
  }

  function onEvent(ev) {
    if (!ev || typeof ev !== 'object')
      return;
    if (ev.event_type === CONN_CLOSED) {
      if (addConn(ev) && state.page && state.page.conns)
        state.page.conns();
      endpointsSoon(); /* the counters moved */
      return;
    }
    if (/^tcp_(session|endpoint)_/.test(ev.event_type))
      endpointsSoon();
    if (state.page && state.page.onEvent)
      state.page.onEvent(ev);
  }

  function setLive(on, why) {
    const el = $('#live');
    el.hidden = false;
    el.classList.toggle('on', on);
    el.textContent = on ? 'live' : (why || 'reconnecting…');
  }

  function startStream() {
    stopStream();
    const es = new EventSource('/events/stream?access_token=' +
      encodeURIComponent(state.key));
    state.stream = es;
    const handler = (e) => {
      let ev = null;
      try {
        ev = JSON.parse(e.data);
      } catch (err) {
        return;
      }
      onEvent(ev);
    };
    STREAM_TYPES.forEach((t) => es.addEventListener(t, handler));
    es.onmessage = handler;
    es.onopen = () => setLive(true);
    es.onerror = () => {
      if (es.readyState === EventSource.CLOSED) {
        /* Refused (or not a stream): try again later, from scratch. */
        setLive(false, 'offline');
        if (state.stream === es) {
          state.stream = null;
          state.streamRetry = setTimeout(startStream, 5000);
        }
      } else {
        setLive(false);
      }
    };
  }

  function stopStream() {
    clearTimeout(state.streamRetry);
    if (state.stream) {
      state.stream.close();
      state.stream = null;
    }
  }

  async function loadHistory() {
    try {
      const r = await fetchList('/events?limit=100&event_type=' +
        encodeURIComponent(CONN_CLOSED), 'events', 1);
      let added = false;
      r.items.forEach((ev) => { added = addConn(ev) || added; });
      if (added && state.page && state.page.conns)
        state.page.conns();
    } catch (e) {
      /* The live stream still fills the inspector. */
    }
  }

  /* ---- routing, login, logout --------------------------------------- */

  const PAGES = {
    endpoints: endpointsPage,
    sessions: sessionsPage,
    addresses: addressesPage,
    policies: policiesPage,
    edges: edgesPage,
    inspector: inspectorPage
  };
  const ADMIN_PAGES = new Set(['policies', 'edges']);

  function route(focus) {
    if (!state.loggedIn)
      return;
    const m = /^#\/([a-z]+)/.exec(location.hash);
    let name = m ? m[1] : 'endpoints';
    if (!PAGES[name] || (ADMIN_PAGES.has(name) && !state.admin))
      name = 'endpoints';
    const view = $('#view');
    state.page = null;
    view.replaceChildren();
    clearNotice();
    const page = PAGES[name]();
    state.page = page;
    state.pageName = name;
    page.mount(view);
    view.hidden = false;
    document.title = page.title + ' · porthole';
    document.querySelectorAll('#nav a').forEach((a) => {
      if (a.dataset.page === name)
        a.setAttribute('aria-current', 'page');
      else
        a.removeAttribute('aria-current');
    });
    if (focus) {
      const h1 = view.querySelector('h1');
      if (h1)
        h1.focus();
    }
    if (page.endpoints)
      page.endpoints(state.endpoints);
    page.refresh().catch((e) => notify(e.message, 'error'));
  }

  function poll() {
    if (!state.loggedIn || document.hidden)
      return;
    pollEndpoints().catch((e) => {
      if (state.pageName === 'endpoints')
        notify(e.message, 'error');
    });
    if (state.page && state.page.poll)
      state.page.poll().catch(() => {});
  }

  async function login(key) {
    state.key = key;
    try {
      /* Any key may list sessions (an account key: its own). */
      await api('GET', '/tunnel_sessions?limit=1');
    } catch (e) {
      state.key = null;
      throw e;
    }
    /* Edges are an administrator's only: 403 for an account's key. */
    state.admin = false;
    try {
      await api('GET', '/edges/tcp?limit=1');
      state.admin = true;
    } catch (e) {
      if (e.status !== 403)
        throw e;
    }
    sessionStorage.setItem(KEY_STORAGE, key);
    state.loggedIn = true;
    $('#login').hidden = true;
    $('#nav').hidden = false;
    $('#logout').hidden = false;
    document.querySelectorAll('#nav [data-admin]').forEach((a) => {
      a.parentNode.hidden = !state.admin;
    });
    startStream();
    loadHistory();
    state.pollTimer = setInterval(poll, POLL_MS);
    state.tickTimer = setInterval(() => {
      if (state.page && state.page.tick)
        state.page.tick();
    }, BUCKET_MS);
    pollEndpoints().catch(() => {});
    route(false);
  }

  function logout(msg) {
    state.loggedIn = false;
    state.key = null;
    state.admin = false;
    state.page = null;
    state.endpoints = [];
    state.conns = [];
    state.connIds = new Set();
    state.openSamples = [];
    sessionStorage.removeItem(KEY_STORAGE);
    stopStream();
    clearInterval(state.pollTimer);
    clearInterval(state.tickTimer);
    $('#view').replaceChildren();
    $('#view').hidden = true;
    $('#nav').hidden = true;
    $('#logout').hidden = true;
    $('#live').hidden = true;
    $('#login').hidden = false;
    document.title = 'porthole';
    if (msg)
      notify(msg, 'error');
    else
      clearNotice();
    const input = $('#login-key');
    input.value = '';
    input.focus();
  }

  function start() {
    const form = $('#login-form');
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const input = $('#login-key');
      const key = input.value.trim();
      if (!key)
        return;
      const button = form.querySelector('button');
      button.disabled = true;
      try {
        await login(key);
        input.value = '';
      } catch (err) {
        notify(err.status === 401 ? 'The server refused this API key: ' +
          err.message : err.message, 'error');
        input.select();
      } finally {
        button.disabled = false;
      }
    });
    $('#logout').addEventListener('click', () => logout());
    window.addEventListener('hashchange', () => route(true));
    document.addEventListener('visibilitychange', () => {
      if (!document.hidden)
        poll();
    });
    const saved = sessionStorage.getItem(KEY_STORAGE);
    if (saved) {
      login(saved).catch((e) => {
        /* Forget the key only if the server refused it, not when the
         * request was cut (a reload) or the server is away. */
        if (e.status === 401)
          sessionStorage.removeItem(KEY_STORAGE);
        $('#login').hidden = false;
        notify(e.message, 'error');
        $('#login-key').focus();
      });
    } else {
      $('#login').hidden = false;
      $('#login-key').focus();
    }
  }

  start();
}());
