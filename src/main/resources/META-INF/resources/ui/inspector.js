// The agent-state inspector: a client of the documented HTTP API, nothing more. Every value shown comes from an API
// answer and is written as text (never as HTML), so an event's content cannot script the page.

const CREDENTIAL = 'agent-state.credential';
const PAGE = 100;
const view = document.getElementById('view');
const notice = document.getElementById('notice');
let leaving = []; // what to stop when the page changes (streams)

// ---- DOM ----------------------------------------------------------------------------------------------------------

function h(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
        if (value === undefined || value === null || value === false) continue;
        if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
        else if (key === 'dataset') Object.assign(node.dataset, value);
        else node.setAttribute(key, value === true ? '' : String(value));
    }
    for (const child of children.flat()) {
        if (child === undefined || child === null || child === false) continue;
        node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
}

function show(...nodes) {
    view.replaceChildren(...nodes.filter((node) => node != null));
}

function say(text, kind = 'error') {
    notice.hidden = !text;
    notice.className = kind;
    notice.textContent = text || '';
}

const time = (iso) => (iso ? new Date(iso).toLocaleString() : '');
const bytes = (n) => (n >= 1048576 ? (n / 1048576).toFixed(1) + ' MiB' : n >= 1024 ? (n / 1024).toFixed(1) + ' KiB'
    : n + ' B');
const json = (value) => JSON.stringify(value, null, 2);
const clip = (text, n = 120) => (text && text.length > n ? text.slice(0, n - 1) + '…' : text || '');
const enc = encodeURIComponent;

// ---- the API ------------------------------------------------------------------------------------------------------

class ApiError extends Error {
    constructor(status, problem) {
        super(problem.detail || problem.title || 'HTTP ' + status);
        this.status = status;
        this.problem = problem;
    }
}

function credentialHeaders() {
    const credential = sessionStorage.getItem(CREDENTIAL);
    if (!credential) return {};
    // API keys start with ask_; anything else is a JWT
    return credential.startsWith('ask_') ? { 'X-API-Key': credential } : { Authorization: 'Bearer ' + credential };
}

async function api(path, options = {}) {
    const response = await fetch(path, {
        ...options,
        headers: { Accept: 'application/json', ...credentialHeaders(), ...(options.headers || {}) },
    });
    const text = await response.text();
    const body = text ? JSON.parse(text) : null;
    if (!response.ok) {
        if (response.status === 401) askForCredential(body && body.detail);
        throw new ApiError(response.status, body || {});
    }
    return body;
}

function askForCredential(detail) {
    document.getElementById('credential').focus();
    say('Sign in: enter a JWT or an API key above (' + (detail || 'credentials required') + ').');
}

function failed(error) {
    if (error instanceof ApiError && error.status === 401) return; // askForCredential said what to do
    say(error instanceof ApiError ? `${error.status} ${error.problem.title || ''}: ${error.message}` : String(error));
}

// Follows the session's server-sent events (fetch, so the credential goes in a header) and calls back per version.
function follow(sessionId, onVersion) {
    const stop = new AbortController();
    leaving.push(() => stop.abort());
    const live = h('span', { class: 'live', 'data-test': 'live' }, 'connecting…');
    (async () => {
        try {
            const response = await fetch(`/sessions/${enc(sessionId)}/stream`, {
                headers: { Accept: 'text/event-stream', ...credentialHeaders() },
                signal: stop.signal,
            });
            if (!response.ok) throw new Error('stream answered ' + response.status);
            live.textContent = 'live';
            live.classList.add('on');
            const reader = response.body.getReader();
            const decoder = new TextDecoder();
            let buffer = '';
            for (;;) {
                const { value, done } = await reader.read();
                if (done) break;
                buffer += decoder.decode(value, { stream: true });
                let end;
                while ((end = buffer.indexOf('\n\n')) >= 0) {
                    const frame = buffer.slice(0, end).split('\n');
                    buffer = buffer.slice(end + 2);
                    const data = frame.filter((l) => l.startsWith('data:')).map((l) => l.slice(5)).join('');
                    const name = frame.filter((l) => l.startsWith('event:')).map((l) => l.slice(6).trim())[0];
                    // a version, or (event: refused) a refused write that met this version
                    if (data) onVersion(name === 'refused' ? JSON.parse(data).sessionVersion : JSON.parse(data).version,
                        name === 'refused');
                }
            }
            live.textContent = 'stream ended';
        } catch (error) {
            if (!stop.signal.aborted) live.textContent = 'not live: ' + error.message;
        }
        live.classList.remove('on');
    })();
    return live;
}

// ---- routes -------------------------------------------------------------------------------------------------------

function route() {
    leaving.forEach((stop) => stop());
    leaving = [];
    say('');
    const [path, query] = location.hash.replace(/^#/, '').split('?');
    const params = new URLSearchParams(query || '');
    const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
    const page = parts[0] === 's' && parts[1] ? sessionPage(parts[1], parts[2] || 'timeline', parts[3], params)
        : sessionsPage(params);
    page.catch((error) => {
        failed(error);
        if (view.querySelector('.muted') && view.children.length === 1) {
            show(h('p', {}, h('a', { href: '#/' }, '← Sessions')));
        }
    });
}

// ---- sessions -----------------------------------------------------------------------------------------------------

async function sessionsPage(params) {
    const prefix = params.get('prefix') || '';
    const user = params.get('user') || '';
    const search = h('form', { class: 'filters', onsubmit: (e) => {
        e.preventDefault();
        const form = new FormData(e.target);
        const next = new URLSearchParams();
        for (const key of ['prefix', 'user']) if (form.get(key)) next.set(key, form.get(key));
        location.hash = '#/?' + next;
    } },
    h('input', { name: 'prefix', placeholder: 'session id starts with', value: prefix, 'aria-label': 'id prefix' }),
    h('input', { name: 'user', placeholder: 'user id', value: user, 'aria-label': 'user id' }),
    h('button', { type: 'submit' }, 'Search'));
    const rows = h('tbody');
    const more = h('button', { hidden: true, 'data-test': 'more-sessions' }, 'More sessions');
    const table = h('table', { class: 'sessions', 'data-test': 'sessions' },
        h('thead', {}, h('tr', {}, ['session', 'status', 'version', 'messages', 'bytes', 'last activity', 'user']
            .map((c) => h('th', {}, c)))), rows);
    show(h('h1', {}, 'Sessions'), search, table, more);
    let cursor = null;
    const load = async () => {
        const query = new URLSearchParams({ order: 'recent', limit: String(PAGE) });
        if (prefix) query.set('prefix', prefix);
        if (user) query.set('userId', user);
        if (cursor) query.set('cursor', cursor);
        const page = await api('/sessions?' + query);
        for (const s of page.sessions) {
            rows.append(h('tr', { dataset: { session: s.sessionId } },
                h('td', {}, h('a', { href: `#/s/${enc(s.sessionId)}` }, s.sessionId)),
                h('td', {}, h('span', { class: 'status ' + s.status }, s.status)),
                h('td', { class: 'num' }, s.version), h('td', { class: 'num' }, s.messageCount),
                h('td', { class: 'num' }, bytes(s.bytes)), h('td', {}, time(s.updatedAt)), h('td', {}, s.userId || '')));
        }
        if (!rows.children.length) rows.append(h('tr', {}, h('td', { colspan: 7, class: 'muted' }, 'No sessions.')));
        cursor = page.next;
        more.hidden = !cursor;
    };
    more.addEventListener('click', () => load().catch(failed));
    await load();
}

// ---- one session --------------------------------------------------------------------------------------------------

const TABS = [['timeline', 'Timeline'], ['travel', 'Time travel'], ['tools', 'Tool ledger'], ['growth', 'Growth'],
    ['audit', 'Audit']];

async function sessionPage(sessionId, tab, arg, params) {
    const [current, forks] = await Promise.all([api(`/sessions/${enc(sessionId)}`),
        api(`/sessions/${enc(sessionId)}/events?type=agentstate.session.forked&limit=20`)]);
    // a fork's first entry says where it came from; its versions start after the one it copied
    const forked = forks.entries.find((entry) => entry.version);
    const origin = forked && forked.event.data ? forked.event.data : null;
    const first = forked ? forked.version : 1;
    const nav = h('nav', { class: 'tabs' }, TABS.map(([id, label]) => h('a', {
        href: `#/s/${enc(sessionId)}/${id}`, class: id === tab ? 'active' : null, 'data-tab': id }, label)));
    const body = h('section', { class: 'tab', 'data-test': 'tab-' + tab });
    show(h('p', {}, h('a', { href: '#/' }, '← Sessions')),
        h('h1', {}, sessionId, ' ', h('span', { class: 'status ' + current.status }, current.status)),
        origin ? h('p', { class: 'forked', 'data-test': 'forked-from' }, 'Forked from ',
            h('a', { href: `#/s/${enc(origin.sourceSessionId)}/travel/${origin.sourceVersion}` },
                `${origin.sourceSessionId} at version ${origin.sourceVersion}`),
            `: versions up to ${origin.sourceVersion} are the source's, this session starts at ${first}.`) : null,
        h('p', { class: 'facts' }, `version ${current.version} · ${current.messageCount} messages · `
            + `${bytes(current.bytes)} · user ${current.userId || '—'} · started ${time(current.createdAt)} · `
            + `last activity ${time(current.updatedAt)}`), nav, body);
    if (tab === 'travel') return travel(sessionId, body, Number(arg) || current.version, first, current.version);
    if (tab === 'prompt') return prompt(sessionId, body, Number(arg));
    if (tab === 'tools') return tools(body, current);
    if (tab === 'growth') return growth(sessionId, body);
    if (tab === 'audit') return audit(sessionId, body);
    return timeline(sessionId, body, params);
}

function describe(event) {
    const d = event.data || {};
    switch (event.type) {
        case 'agentstate.message.appended': return `${d.role}${d.name ? ' (' + d.name + ')' : ''}: ${clip(d.content)}`;
        case 'agentstate.tool.requested': return `${d.tool} call ${d.callId} ${clip(JSON.stringify(d.arguments), 80)}`;
        case 'agentstate.tool.completed': return `call ${d.callId} ${d.error ? 'failed: ' + clip(d.error, 80)
            : '→ ' + clip(JSON.stringify(d.output), 80)}`;
        case 'agentstate.state.patched': return `scope ${d.scope}: ${clip(JSON.stringify(d.patch), 100)}`;
        case 'agentstate.summary.recorded': return `summary through v${d.throughVersion}: ${clip(d.summary)}`;
        case 'agentstate.session.started': return `for user ${d.userId || '—'}`;
        case 'agentstate.session.ended': return d.reason ? 'reason: ' + d.reason : '';
        case 'agentstate.memory.recorded': return `fact for ${d.userId}: ${clip(d.fact)}`;
        case 'agentstate.session.forked': return `forked from ${d.sourceSessionId} at version ${d.sourceVersion}`;
        default: return event.datacontenttype && !String(event.datacontenttype).includes('json')
            ? `${event.datacontenttype} data` : clip(JSON.stringify(event.data), 100);
    }
}

async function timeline(sessionId, body, params) {
    const type = params.get('type') || '';
    const source = params.get('source') || '';
    const newest = params.get('order') === 'desc';
    const filters = h('form', { class: 'filters', onsubmit: (e) => {
        e.preventDefault();
        const form = new FormData(e.target);
        const next = new URLSearchParams();
        for (const key of ['type', 'source']) if (form.get(key)) next.set(key, form.get(key));
        if (form.get('order') === 'desc') next.set('order', 'desc');
        location.hash = `#/s/${enc(sessionId)}/timeline?${next}`;
    } },
    h('input', { name: 'type', placeholder: 'type, e.g. agentstate.message.appended', value: type, 'aria-label': 'type' }),
    h('input', { name: 'source', placeholder: 'source agent', value: source, 'aria-label': 'source' }),
    h('select', { name: 'order', 'aria-label': 'order', 'data-test': 'order' },
        h('option', { value: 'asc', selected: !newest }, 'oldest first'),
        h('option', { value: 'desc', selected: newest }, 'newest first')),
    h('button', { type: 'submit' }, 'Filter'));
    const rows = h('tbody');
    const more = h('button', { hidden: true, 'data-test': 'more-entries' }, 'More entries');
    const seen = new Set();
    let cursor = null;
    let lastVersion = 0;
    // entries arrive in page order; live ones go at the end, or at the top when newest come first
    const add = (entry, live = false) => {
        const key = entry.eventId + '/' + entry.outcome + '/' + entry.sessionVersion;
        if (seen.has(key)) return;
        seen.add(key);
        const e = entry.event || {};
        if (entry.version) lastVersion = Math.max(lastVersion, entry.version);
        rows[live && newest ? 'prepend' : 'append'](h('tr', { class: 'entry ' + entry.outcome, dataset: { eventId: entry.eventId, outcome: entry.outcome,
            version: entry.version ?? '' } },
        h('td', { class: 'num' }, entry.version ? h('a', { href: `#/s/${enc(sessionId)}/travel/${entry.version}`,
            title: 'the state at this version' }, 'v' + entry.version) : h('span', { class: 'muted',
            title: 'refused while the session was at this version' }, '@' + entry.sessionVersion)),
        h('td', {}, h('span', { class: 'outcome ' + entry.outcome }, entry.outcome)),
        h('td', {}, e.type), h('td', {}, e.source), h('td', {}, time(e.time)),
        h('td', { class: 'what' }, entry.reason ? h('div', { class: 'reason', 'data-test': 'reason' }, entry.reason)
            : null, h('details', {}, h('summary', {}, describe(e)), h('pre', {}, json(e))),
        entry.version && e.data && e.data.prompt ? h('a', { href: `#/s/${enc(sessionId)}/prompt/${entry.version}`,
            class: 'prompt-link', 'data-test': 'prompt-link' }, 'what the model saw') : null),
        h('td', { class: 'id' }, entry.eventId)));
    };
    const query = (extra, live = false) => {
        const q = new URLSearchParams({ limit: String(PAGE), ...extra });
        if (newest && !live) q.set('order', 'desc');
        if (type) q.set('type', type);
        if (source) q.set('source', source);
        return `/sessions/${enc(sessionId)}/events?${q}`;
    };
    const load = async () => {
        const page = await api(query(cursor ? { cursor } : {}));
        page.entries.forEach((entry) => add(entry));
        cursor = page.next;
        more.hidden = !cursor;
    };
    more.addEventListener('click', () => load().catch(failed));
    // new versions and refusals arrive at the end; the entries from the last shown version on are fetched (refusals in
    // between included, the ones already shown skipped)
    const bar = h('div', { class: 'bar' }, filters);
    body.append(bar,
        h('table', { class: 'timeline', 'data-test': 'timeline' }, h('thead', {}, h('tr', {},
            ['version', 'outcome', 'type', 'source', 'time', 'what', 'event id'].map((c) => h('th', {}, c)))), rows),
        more);
    await load();
    // followed once the first page is shown, so what the stream announces is measured against it
    let catchingUp = Promise.resolve();
    bar.append(follow(sessionId, (version, refused) => {
        // oldest first with older pages still to read: More reaches them
        if ((refused ? version < lastVersion : version <= lastVersion) || (cursor && !newest)) return;
        catchingUp = catchingUp.then(async () => {
            // from the last version shown, so refusals made at it come too (entries already shown are skipped)
            let page = await api(query({ fromVersion: String(Math.max(1, lastVersion)) }, true));
            page.entries.forEach((entry) => add(entry, true));
            while (page.next) {
                page = await api(query({ cursor: page.next }, true));
                page.entries.forEach((entry) => add(entry, true));
            }
        }).catch(failed);
    }));
    if (!rows.children.length) rows.append(h('tr', {}, h('td', { colspan: 7, class: 'muted' }, 'No entries.')));
}

// ---- time travel and diff -----------------------------------------------------------------------------------------

const EMPTY = { messages: [], toolCalls: {}, scopes: {}, summary: null, status: 'none', metadata: null };

async function travel(sessionId, body, version, first, head) {
    version = Math.min(Math.max(first, version), head);
    const go = (v) => { location.hash = `#/s/${enc(sessionId)}/travel/${v}`; };
    const picker = h('form', { class: 'filters', onsubmit: (e) => {
        e.preventDefault();
        go(Number(new FormData(e.target).get('version')));
    } },
    h('button', { type: 'button', disabled: version <= first, onclick: () => go(version - 1), 'data-test': 'previous' },
        '←'),
    h('input', { name: 'version', type: 'number', min: first, max: head, value: version, 'aria-label': 'version',
        'data-test': 'version' }),
    h('span', {}, ' of ', head, ' '),
    h('button', { type: 'submit' }, 'Show'),
    h('button', { type: 'button', disabled: version >= head, onclick: () => go(version + 1), 'data-test': 'next' }, '→'));
    body.append(picker, forkForm(sessionId, version));
    const [after, before] = await Promise.all([
        api(`/sessions/${enc(sessionId)}/state?version=${version}`),
        version > first ? api(`/sessions/${enc(sessionId)}/state?version=${version - 1}`) : Promise.resolve(EMPTY),
    ]);
    body.append(h('h2', {}, `What changed at version ${version}`), changes(diff(before, after)),
        h('h2', {}, `The whole state at version ${version}`), stateView(after));
}

// "Fork from here": a new session that starts as this state (POST /sessions/{id}/fork), then open it.
function forkForm(sessionId, version) {
    return h('form', { class: 'filters fork', 'data-test': 'fork', onsubmit: async (e) => {
        e.preventDefault();
        const newSessionId = new FormData(e.target).get('newSessionId').trim();
        try {
            const forked = await api(`/sessions/${enc(sessionId)}/fork`, {
                method: 'POST',
                headers: { 'Content-Type': 'application/json' },
                body: JSON.stringify(newSessionId ? { version, newSessionId } : { version }),
            });
            // not decided within the service's wait: its decision is polled before the fork is opened
            for (let tries = 0; forked.outcome === 'pending'; tries++) {
                if (tries > 60) throw new Error(`the fork into ${forked.sessionId} is still pending; reload later`);
                await new Promise((resolve) => setTimeout(resolve, 500));
                const decided = await api(`/sessions/${enc(forked.sessionId)}/events/${enc(forked.eventId)}`)
                    .catch((error) => (error instanceof ApiError && error.status === 404 ? null : Promise.reject(error)));
                if (decided && decided.outcome !== 'accepted' && decided.outcome !== 'duplicate') {
                    throw new Error(`the fork was refused: ${decided.reason}`);
                }
                if (decided) forked.outcome = decided.outcome;
            }
            location.hash = `#/s/${enc(forked.sessionId)}/timeline`;
        } catch (error) {
            failed(error);
        }
    } },
    h('input', { name: 'newSessionId', placeholder: 'new session id (optional)', 'aria-label': 'new session id',
        'data-test': 'fork-id' }),
    h('button', { type: 'submit', 'data-test': 'fork-button' }, `Fork from version ${version}`));
}

function diff(before, after) {
    const known = new Set((before.messages || []).map((m) => m.eventId));
    const messages = (after.messages || []).filter((m) => !known.has(m.eventId));
    const scopes = [];
    walk(before.scopes || {}, after.scopes || {}, [], scopes);
    const tools = [];
    for (const [id, call] of Object.entries(after.toolCalls || {})) {
        const old = (before.toolCalls || {})[id];
        if (!old) tools.push({ id, tool: call.tool, from: null, to: call.status });
        else if (old.status !== call.status) tools.push({ id, tool: call.tool, from: old.status, to: call.status });
    }
    const summary = JSON.stringify(before.summary) !== JSON.stringify(after.summary) ? after.summary : undefined;
    const status = before.status !== after.status ? [before.status, after.status] : null;
    return { messages, scopes, tools, summary, status };
}

// field-level differences between two JSON values, as [path, before, after]
function walk(a, b, path, out) {
    const plain = (v) => v && typeof v === 'object' && !Array.isArray(v);
    if (a === undefined && plain(b)) a = {};
    if (b === undefined && plain(a)) b = {};
    const objects = a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b);
    if (objects) {
        for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) walk(a[key], b[key], [...path, key], out);
    } else if (JSON.stringify(a) !== JSON.stringify(b)) {
        out.push({ path: path.join('.'), before: a, after: b });
    }
}

function changes(d) {
    const list = h('ul', { class: 'diff', 'data-test': 'diff' });
    if (d.status) list.append(h('li', { class: 'changed' }, `status ${d.status[0]} → ${d.status[1]}`));
    for (const m of d.messages) {
        list.append(h('li', { class: 'added', 'data-test': 'added-message' }, `+ message v${m.version} ${m.role}`
            + `${m.source ? ' from ' + m.source : ''}: ${clip(m.content, 300)}`));
    }
    for (const s of d.scopes) {
        list.append(h('li', { class: 'changed', 'data-test': 'scope-change' }, `scope ${s.path}: `,
            h('code', {}, s.before === undefined ? '(absent)' : JSON.stringify(s.before)), ' → ',
            h('code', {}, s.after === undefined ? '(removed)' : JSON.stringify(s.after))));
    }
    for (const t of d.tools) {
        list.append(h('li', { class: 'changed', 'data-test': 'tool-change' },
            `tool call ${t.id} (${t.tool}): ${t.from ? t.from + ' → ' : 'requested, '}${t.to}`));
    }
    if (d.summary !== undefined) {
        list.append(h('li', { class: 'changed', 'data-test': 'summary-change' }, d.summary
            ? `summary through v${d.summary.throughVersion}: ${clip(d.summary.text, 300)}` : 'summary removed'));
    }
    if (!list.children.length) list.append(h('li', { class: 'muted' }, 'No change to the state (a custom event).'));
    return list;
}

function stateView(state) {
    const shown = state.messages.slice(-200);
    return h('div', { class: 'state', 'data-test': 'state' },
        h('h3', {}, `Conversation (${state.messageCount} messages${shown.length < state.messages.length
            ? ', the last 200 shown' : ''})`),
        h('ol', { class: 'conversation' }, shown.map((m) => h('li', { class: 'message ' + m.role },
            h('span', { class: 'meta' }, `v${m.version} ${m.role}${m.name ? ' ' + m.name : ''}`
                + `${m.source ? ' · ' + m.source : ''}`), h('div', { class: 'content' }, m.content)))),
        h('h3', {}, 'Summary'),
        state.summary ? h('p', { 'data-test': 'summary' }, `through v${state.summary.throughVersion} `
            + `(${state.summary.model || 'model not named'}): ${state.summary.text}`) : h('p', { class: 'muted' }, 'None.'),
        h('h3', {}, 'Tool ledger'), toolTable(state.toolCalls),
        h('h3', {}, 'Scopes'), h('pre', { 'data-test': 'scopes' }, json(state.scopes || {})));
}

// ---- what the model saw ------------------------------------------------------------------------------------------

async function prompt(sessionId, body, version) {
    const rebuilt = await api(`/sessions/${enc(sessionId)}/prompt?version=${version}`);
    body.append(h('p', { class: 'muted' }, `The prompt of the reply at v${version}, rebuilt from the log: the state at `
        + `v${rebuilt.windowVersion}${rebuilt.summaryVersion ? ' with the summary of v' + rebuilt.summaryVersion : ''}, `
        + `system prompt ${rebuilt.promptVersion}, then the turn's user message.`),
    h('ol', { class: 'conversation', 'data-test': 'prompt' }, rebuilt.messages.map((m) => h('li', {
        class: 'message ' + m.role }, h('span', { class: 'meta' }, m.role + (m.name ? ' ' + m.name : '')),
    h('div', { class: 'content' }, m.content)))),
    h('p', {}, h('a', { href: `#/s/${enc(sessionId)}/travel/${version}` }, `The state at v${version}`)));
}

// ---- tool ledger, growth, audit -----------------------------------------------------------------------------------

function toolTable(calls) {
    const entries = Object.values(calls || {});
    if (!entries.length) return h('p', { class: 'muted' }, 'No tool calls.');
    return h('table', { class: 'tools', 'data-test': 'tools' }, h('thead', {}, h('tr', {},
        ['call', 'tool', 'status', 'arguments', 'result', 'requested by', 'completed by', 'versions']
            .map((c) => h('th', {}, c)))),
    h('tbody', {}, entries.map((c) => h('tr', { dataset: { call: c.callId } }, h('td', {}, c.callId), h('td', {}, c.tool),
        h('td', {}, h('span', { class: 'status ' + c.status }, c.status)),
        h('td', {}, h('code', {}, clip(JSON.stringify(c.arguments), 200))),
        h('td', {}, c.error ? h('span', { class: 'reason' }, c.error) : h('code', {}, clip(JSON.stringify(c.output), 200))),
        h('td', {}, c.requestedBy || ''), h('td', {}, c.completedBy || ''),
        h('td', {}, `v${c.requestedVersion}${c.completedVersion ? ' → v' + c.completedVersion : ''}`)))));
}

function tools(body, current) {
    body.append(toolTable(current.toolCalls));
}

async function growth(sessionId, body) {
    // bytes and messages by version, from the accepted entries of the timeline (the archived CloudEvents)
    const points = [];
    let total = 0;
    let messages = 0;
    let cursor = null;
    const encoder = new TextEncoder();
    const snapshots = api(`/sessions/${enc(sessionId)}/snapshots`);
    do {
        const page = await api(`/sessions/${enc(sessionId)}/events?limit=1000${cursor ? '&cursor=' + enc(cursor) : ''}`);
        for (const entry of page.entries) {
            if (!entry.version) continue;
            total += encoder.encode(JSON.stringify(entry.event)).length;
            if (entry.event.type === 'agentstate.message.appended') messages++;
            if (entry.event.type === 'agentstate.session.erased') { total = 0; messages = 0; }
            if (entry.event.type === 'agentstate.session.forked' && entry.event.data) {
                messages = entry.event.data.state.messageCount;
            }
            points.push({ version: entry.version, bytes: total, messages });
        }
        cursor = page.next;
    } while (cursor);
    const stored = await snapshots;
    const marks = stored.versions;
    body.append(h('p', { class: 'muted' }, 'Event bytes (as archived, before encryption) and messages by version. ',
        h('span', { 'data-test': 'snapshots' }, (marks.length ? `Snapshots (dashed) at ${marks.map((v) => 'v' + v)
            .join(', ')}` : 'No snapshot yet') + ` (one every ${stored.every} versions, the newest ${stored.kept} kept).`)),
    chart(points, 'bytes', 'bytes', bytes, marks), chart(points, 'messages', 'messages', String, marks));
}

function chart(points, key, label, format, marks = []) {
    const width = 720;
    const height = 160;
    const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
    svg.setAttribute('viewBox', `0 0 ${width} ${height + 20}`);
    svg.setAttribute('class', 'chart');
    svg.dataset.test = 'chart-' + key;
    if (!points.length) return h('p', { class: 'muted' }, 'No versions yet.');
    const minX = points[0].version;
    const maxX = points[points.length - 1].version;
    const x = (version) => ((version - minX) / Math.max(1, maxX - minX)) * (width - 10) + 5;
    const maxY = Math.max(1, ...points.map((p) => p[key]));
    const line = document.createElementNS(svg.namespaceURI, 'polyline');
    line.setAttribute('points', points.map((p) => `${x(p.version)},${height - (p[key] / maxY) * (height - 10)}`)
        .join(' '));
    for (const version of marks) {
        const mark = document.createElementNS(svg.namespaceURI, 'line');
        mark.setAttribute('x1', String(x(version)));
        mark.setAttribute('x2', String(x(version)));
        mark.setAttribute('y1', '0');
        mark.setAttribute('y2', String(height));
        mark.setAttribute('class', 'snapshot');
        mark.dataset.version = String(version);
        svg.append(mark);
    }
    const caption = document.createElementNS(svg.namespaceURI, 'text');
    caption.setAttribute('x', '5');
    caption.setAttribute('y', String(height + 16));
    caption.textContent = `${label}: ${format(points[points.length - 1][key])} at v${maxX}`;
    svg.append(line, caption);
    return svg;
}

async function audit(sessionId, body) {
    const verdict = await api(`/sessions/${enc(sessionId)}/audit`);
    body.append(h('p', { class: 'verdict ' + (verdict.valid ? 'valid' : 'broken'), 'data-test': 'audit' },
        verdict.valid ? `The chain verifies: ${verdict.length} entries` : `The chain is broken at version `
            + `${verdict.brokenAt}: ${verdict.reason}`),
    h('pre', {}, json(verdict)));
}

// ---- start --------------------------------------------------------------------------------------------------------

document.getElementById('signin').addEventListener('submit', (e) => {
    e.preventDefault();
    const input = document.getElementById('credential');
    if (input.value.trim()) sessionStorage.setItem(CREDENTIAL, input.value.trim());
    input.value = '';
    signedIn();
    route();
});
document.getElementById('signout').addEventListener('click', () => {
    sessionStorage.removeItem(CREDENTIAL);
    signedIn();
    route();
});

function signedIn() {
    const has = Boolean(sessionStorage.getItem(CREDENTIAL));
    document.getElementById('who').textContent = has ? 'credential kept for this browser session' : '';
    document.getElementById('signout').hidden = !has;
}

window.addEventListener('hashchange', route);
signedIn();
route();
