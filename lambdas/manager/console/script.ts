/**
 * The console's browser script: plain JavaScript, no build step, no
 * dependencies. It polls the manager API once a second and rebuilds the
 * tables with DOM calls (text only, never HTML from data).
 */
export const CONSOLE_SCRIPT = String.raw`'use strict';
(function () {
  var state = { token: '', cluster: 'default', taskId: '', jobId: '', busy: false };
  var MiB = 1024 * 1024;

  function $(id) { return document.getElementById(id); }

  function el(tag, props, children) {
    var node = document.createElement(tag);
    if (props) Object.keys(props).forEach(function (key) {
      if (key === 'text') node.textContent = props[key];
      else if (key === 'className') node.className = props[key];
      else if (key === 'onclick') node.addEventListener('click', props[key]);
      else node.setAttribute(key, props[key]);
    });
    (children || []).forEach(function (child) {
      node.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
    });
    return node;
  }

  function cell(value) { return el('td', null, [value instanceof Node ? value : String(value)]); }
  function pill(text, kind) { return el('span', { className: 'pill ' + (kind || text), text: text }); }
  function mib(bytes) { return (bytes / MiB).toFixed(1); }
  function ago(iso) {
    var seconds = Math.max(0, Math.round((Date.now() - new Date(iso).getTime()) / 1000));
    return seconds < 120 ? seconds + ' s ago' : Math.round(seconds / 60) + ' min ago';
  }
  function bar(fraction, kind) {
    var inner = el('span');
    inner.style.width = Math.round(Math.max(0, Math.min(1, fraction)) * 100) + '%';
    return el('span', { className: 'bar ' + (kind || '') }, [inner]);
  }
  function fill(tableId, rows) {
    var body = $(tableId).querySelector('tbody');
    body.replaceChildren.apply(body, rows);
  }

  function api(method, path, body) {
    var init = { method: method, headers: { authorization: 'Bearer ' + state.token } };
    if (body !== undefined) {
      init.headers['content-type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    return fetch(path, init).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (json) {
        if (!response.ok) throw new Error(json.message || ('HTTP ' + response.status));
        return json;
      });
    });
  }

  function q(path) { return path + (path.indexOf('?') < 0 ? '?' : '&') + 'cluster=' + encodeURIComponent(state.cluster); }

  function renderClusters(clusters) {
    var select = $('cluster');
    var names = clusters.map(function (c) { return c.name; });
    if (select.options.length !== names.length || names.some(function (n, i) { return select.options[i].value !== n; })) {
      select.replaceChildren.apply(select, names.map(function (n) { return el('option', { value: n, text: n }); }));
      select.value = state.cluster;
    }
    fill('clusters', clusters.map(function (c) {
      var s = c.settings || {};
      return el('tr', { 'data-cluster': c.name }, [
        cell(c.name),
        cell((s.allowedOrigins || ['any']).join(', ')),
        cell(s.parentLimit || 'default'),
        cell(s.backToSourceLimit || 'default'),
        cell(s.minAnnounceIntervalMs !== undefined ? s.minAnnounceIntervalMs + ' ms' : 'default'),
        cell((s.preheatOrigins || ['—']).join(', ')),
      ]);
    }));
  }

  function renderHosts(hosts) {
    fill('hosts', hosts.map(function (h) {
      return el('tr', { 'data-peer': h.peerId }, [
        cell(h.peerId), cell(h.site), cell(pill(h.role, h.role === 'seed' ? 'seed' : 'normal')), cell(h.version || '—'),
        cell(h.uploads), cell(h.activeTasks), cell(mib(h.cacheBytes)),
        cell(el('span', null, [pill(h.live ? 'live' : 'stale'), ' ' + ago(h.lastSeen)])),
      ]);
    }));
  }

  function renderTasks(tasks) {
    if (!state.taskId && tasks.length) state.taskId = tasks[0].id;
    fill('tasks', tasks.map(function (t) {
      return el('tr', {
        className: 'clickable' + (t.id === state.taskId ? ' selected' : ''),
        'data-task': t.id,
        onclick: function () { state.taskId = t.id; refresh(); },
        'data-state': t.state,
      }, [
        cell(t.displayUrl),
        cell(t.versionId ? 'version ' + t.versionId : 'ETag ' + t.etag.replace(/"/g, '').slice(0, 12)),
        cell(pill(t.state)),
        cell(el('span', null, [bar(t.progress), ' ' + Math.round(t.progress * 100) + '%'])),
        cell(mib(t.size)),
        cell(t.peers.finished + '/' + t.peers.live + (t.peers.failed ? ', ' + t.peers.failed + ' failed' : '')),
        cell(el('span', { 'data-origin-per-object': String(t.originPerObject), text: mib(t.bytesFromOrigin) + ' MiB (' + t.originPerObject.toFixed(2) + ' ×)' })),
        cell(ago(t.createdAt)),
      ]);
    }));
  }

  function renderFailures(failures) {
    fill('failures', failures.map(function (f) {
      var reason = el('td', { className: 'reason', text: f.reason });
      return el('tr', { 'data-task': f.taskId, 'data-peer': f.peerId }, [cell(f.displayUrl), cell(f.peerId), cell(f.site), reason, cell(ago(f.at))]);
    }));
  }

  function renderSwarm(swarm) {
    if (!swarm) {
      $('swarm-title').textContent = '— pick a task';
      $('swarm-summary').replaceChildren();
      fill('swarm', []);
      return;
    }
    $('swarm-title').textContent = '— ' + swarm.task.displayUrl;
    var share = Math.round(swarm.originShare * 1000) / 10;
    $('swarm-summary').replaceChildren(
      el('span', { id: 'origin-share', 'data-share': String(swarm.originShare), text: share + '% of bytes from S3' }),
      ' ', bar(swarm.originShare, 'origin'),
      el('span', { className: 'muted', text: '   ' + mib(swarm.bytesFromOrigin) + ' MiB from S3, ' + mib(swarm.bytesFromPeers) + ' MiB from peers, ' + swarm.peers.length + ' peers' })
    );
    fill('swarm', swarm.peers.map(function (p) {
      var stateText = p.failed ? 'failed' : p.finished ? 'done' : p.source ? 'reading S3' : 'pulling';
      return el('tr', { 'data-peer': p.peerId, 'data-progress': String(p.progress) }, [
        cell(p.peerId), cell(p.site), cell(p.seed ? pill('seed') : 'normal'),
        cell(el('span', null, [bar(p.progress), ' ' + Math.round(p.progress * 100) + '%'])),
        cell(mib(p.bytesFromPeers)), cell(mib(p.bytesFromOrigin)),
        cell(pill(stateText, p.failed ? 'failed' : p.finished ? 'done' : 'running')),
      ]);
    }));
  }

  // A prefix job is one row (objects and bytes done); clicked, its items open below it.
  function renderJobs(jobs, open) {
    var rows = [];
    jobs.forEach(function (j) {
      var doneBy = Object.keys(j.doneBy).map(function (site) { return site + ': ' + j.doneBy[site]; }).join(', ');
      var prefix = j.kind === 'prefix' || j.kind === 'image';
      var what = prefix ? j.url + '  (' + j.itemsDone + ' of ' + j.itemCount + (j.kind === 'image' ? ' blobs, ' : ' objects, ') + mib(j.bytesDone) + ' of ' + mib(j.bytes) + ' MiB)' : j.url;
      rows.push(el('tr', {
        'data-job': j.id, 'data-state': j.state,
        className: prefix ? 'clickable' + (j.id === state.jobId ? ' selected' : '') : '',
        onclick: function () { if (prefix) { state.jobId = state.jobId === j.id ? '' : j.id; refresh(); } },
      }, [
        cell(j.id), cell(what), cell(pill(j.state)), cell(j.sites.length ? j.sites.join(', ') : 'any'),
        cell(prefix ? (j.error || '—') : (doneBy || (j.error || '—'))), cell(j.source), cell(ago(new Date(j.createdAt).toISOString())),
      ]));
      if (!open || open.id !== j.id || j.id !== state.jobId) return;
      (open.items || []).forEach(function (item) {
        var by = Object.keys(item.doneBy).map(function (site) { return site + ': ' + item.doneBy[site]; }).join(', ');
        rows.push(el('tr', { 'data-item': item.id, 'data-state': item.state, className: 'item' }, [
          cell('  ↳ ' + item.id.slice(item.id.lastIndexOf('_') + 1)), cell(item.url + '  (' + mib(item.bytes) + ' MiB)'), cell(pill(item.state)), cell(''),
          cell(by || (item.error || '—')), cell(''), cell(ago(new Date(item.updatedAt).toISOString())),
        ]));
      });
    });
    fill('preheat-jobs', rows);
  }

  function status(text, error) {
    var node = $('status');
    node.textContent = text;
    node.style.color = error ? '#fca5a5' : '';
  }

  function refresh() {
    if (state.busy) return;
    if (!state.token) { status('enter the token', true); return; }
    state.busy = true;
    Promise.all([
      api('GET', '/v1/clusters'),
      api('GET', q('/v1/hosts')),
      api('GET', '/v1/tasks?limit=20'),
      api('GET', q('/v1/preheats?limit=20')),
      state.jobId ? api('GET', q('/v1/preheats/' + state.jobId)).catch(function () { return null; }) : null,
    ]).then(function (results) {
      renderClusters(results[0].clusters);
      renderHosts(results[1].hosts);
      renderTasks(results[2].tasks);
      renderFailures(results[2].failures || []);
      renderJobs(results[3].jobs, results[4]);
      return state.taskId ? api('GET', '/v1/tasks/' + state.taskId) : null;
    }).then(function (swarm) {
      renderSwarm(swarm);
      status('updated ' + new Date().toLocaleTimeString());
    }).catch(function (error) {
      status(error.message, true);
    }).then(function () { state.busy = false; });
  }

  function submitPreheat(event) {
    event.preventDefault();
    var message = $('message');
    var sites = $('preheat-sites').value.split(',').map(function (s) { return s.trim(); }).filter(Boolean);
    var body = { url: $('preheat-url').value.trim(), kind: $('preheat-kind').value, cluster: state.cluster };
    if (sites.length) body.sites = sites;
    message.className = '';
    message.textContent = 'submitting…';
    api('POST', '/v1/preheats', body).then(function (answer) {
      message.textContent = answer.jobs.length + ' job(s) created' + (answer.jobs[0] && answer.jobs[0].kind === 'prefix' ? ' for ' + answer.jobs[0].itemCount + ' objects' : '');
      refresh();
    }).catch(function (error) {
      message.className = 'error';
      message.textContent = error.message;
    });
  }

  function start() {
    var fromHash = /(?:^#|&)token=([^&]+)/.exec(location.hash);
    if (fromHash) {
      sessionStorage.setItem('mayfly-token', decodeURIComponent(fromHash[1]));
      history.replaceState(null, '', location.pathname);
    }
    state.token = sessionStorage.getItem('mayfly-token') || '';
    $('token').value = state.token;
    $('token').addEventListener('change', function () {
      state.token = $('token').value.trim();
      sessionStorage.setItem('mayfly-token', state.token);
      refresh();
    });
    $('cluster').addEventListener('change', function () { state.cluster = $('cluster').value; refresh(); });
    $('preheat-form').addEventListener('submit', submitPreheat);
    refresh();
    setInterval(refresh, 1000);
  }

  start();
})();
`;
