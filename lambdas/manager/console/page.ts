/** The console's HTML and CSS. Data comes from /console/app.js calling the manager API. */
export const CONSOLE_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Mayfly console</title>
<style>
  :root { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d2330; background: #f4f6f9; }
  body { margin: 0; }
  header { display: flex; gap: 1rem; align-items: center; padding: .6rem 1.2rem; background: #1d2330; color: #fff; }
  header h1 { font-size: 1.1rem; margin: 0 1rem 0 0; font-weight: 600; }
  header label { font-size: .85rem; opacity: .85; }
  header input, header select { margin-left: .3rem; }
  #status { margin-left: auto; font-size: .8rem; opacity: .8; }
  main { display: grid; grid-template-columns: 1fr 1fr; gap: 1rem; padding: 1rem 1.2rem; }
  section { background: #fff; border-radius: 6px; padding: .7rem 1rem; box-shadow: 0 1px 2px rgba(0,0,0,.08); overflow: auto; }
  section.wide { grid-column: 1 / -1; }
  h2 { font-size: .95rem; margin: .2rem 0 .6rem; }
  table { border-collapse: collapse; width: 100%; font-size: .82rem; }
  th, td { text-align: left; padding: .25rem .5rem; border-bottom: 1px solid #e6e9ef; white-space: nowrap; }
  th { color: #5b6475; font-weight: 600; }
  tr.clickable { cursor: pointer; }
  tr.clickable:hover, tr.selected { background: #eef3ff; }
  .bar { position: relative; width: 160px; height: 12px; background: #e6e9ef; border-radius: 6px; overflow: hidden; display: inline-block; vertical-align: middle; }
  .bar > span { position: absolute; left: 0; top: 0; bottom: 0; background: #3b82f6; }
  .bar.origin > span { background: #f59e0b; }
  .pill { padding: 0 .45rem; border-radius: 8px; font-size: .75rem; background: #e6e9ef; }
  .pill.done, .pill.live, .pill.seed { background: #d1fae5; }
  .pill.failed, .pill.stale { background: #fee2e2; }
  .pill.running, .pill.pulling { background: #dbeafe; }
  td.reason { white-space: normal; max-width: 40rem; }
  .muted { color: #8a93a5; }
  form { display: flex; gap: .5rem; flex-wrap: wrap; align-items: center; margin-bottom: .6rem; }
  form input[type=text] { min-width: 22rem; }
  #swarm-summary { font-size: .85rem; margin-bottom: .5rem; }
  #message { font-size: .8rem; }
  #message.error { color: #b91c1c; }
</style>
</head>
<body>
<header>
  <h1>Mayfly</h1>
  <label>token <input id="token" type="password" size="24" autocomplete="off"></label>
  <label>cluster <select id="cluster"><option value="default">default</option></select></label>
  <span id="status">connecting…</span>
</header>
<main>
  <section>
    <h2>Clusters</h2>
    <table id="clusters"><thead><tr><th>name</th><th>allowed origins</th><th>parents</th><th>S3 per site</th><th>min announce</th><th>preheat on upload</th></tr></thead><tbody></tbody></table>
  </section>
  <section>
    <h2>Hosts</h2>
    <table id="hosts"><thead><tr><th>peer</th><th>site</th><th>role</th><th>version</th><th>uploads</th><th>pulls</th><th>cache MiB</th><th>last seen</th></tr></thead><tbody></tbody></table>
  </section>
  <section class="wide">
    <h2>Tasks</h2>
    <table id="tasks"><thead><tr><th>object</th><th>version</th><th>state</th><th>progress</th><th>MiB</th><th>peers</th><th>S3 / object</th><th>created</th></tr></thead><tbody></tbody></table>
  </section>
  <section class="wide" id="failures-section">
    <h2>Failed pulls</h2>
    <table id="failures"><thead><tr><th>object</th><th>peer</th><th>site</th><th>reason</th><th>when</th></tr></thead><tbody></tbody></table>
  </section>
  <section class="wide" id="swarm-section">
    <h2>Swarm <span id="swarm-title" class="muted">— pick a task</span></h2>
    <div id="swarm-summary"></div>
    <table id="swarm"><thead><tr><th>peer</th><th>site</th><th>role</th><th>progress</th><th>from peers MiB</th><th>from S3 MiB</th><th>state</th></tr></thead><tbody></tbody></table>
  </section>
  <section class="wide">
    <h2>Preheat</h2>
    <form id="preheat-form">
      <input id="preheat-url" type="text" placeholder="s3://bucket/key or s3://bucket/prefix/" required>
      <select id="preheat-kind"><option value="object">object</option><option value="prefix">prefix</option></select>
      <input id="preheat-sites" type="text" placeholder="sites (comma separated, empty: sites with live seeds)" style="min-width:16rem">
      <button type="submit" id="preheat-submit">Preheat</button>
      <span id="message"></span>
    </form>
    <table id="preheat-jobs"><thead><tr><th>job</th><th>url</th><th>state</th><th>sites</th><th>done by</th><th>source</th><th>created</th></tr></thead><tbody></tbody></table>
  </section>
</main>
<script src="/console/app.js"></script>
</body>
</html>
`;
