// Sixteen everyday JupyterLab steps in headless Chromium, through whatever is
// at BASE (Wafer, ModSecurity, or the server itself). See README.md.
// Env: BASE, JUPYTER_TOKEN, RECORD, SHOTS.

import { Run, expectText, sleep } from './lib.mjs';

const TOKEN = process.env.JUPYTER_TOKEN || '';

const run = new Run('app:jupyterlab');
await run.launch();
const ctx = await run.context();
const page = await ctx.newPage();
const step = (name, fn) => run.run(name, fn, { page });

// ---- what a data scientist types ---------------------------------------------

const CELLS = {
  print: `region = "EMEA"
orders = [120, 87, 243, 56]
total = sum(orders)
print(f"{region}: {len(orders)} orders, total {total}, mean {total / len(orders):.1f}")`,

  sqlite: `import sqlite3

conn = sqlite3.connect("inventory.db")
conn.execute("DROP TABLE IF EXISTS items")
conn.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, qty INTEGER DEFAULT 0, updated_by TEXT)")
conn.executemany(
    "INSERT INTO items (name, qty, updated_by) VALUES (?, ?, ?)",
    [("usb-c cable", 14, "ana"), ("hdmi adapter", 3, "root"), ("laptop stand", 0, "ana")],
)
conn.commit()
for row in conn.execute("SELECT name, qty FROM items WHERE qty > 0 ORDER BY qty DESC"):
    print(row)
print(conn.execute("SELECT COUNT(*), SUM(qty) FROM items").fetchone())`,

  ossystem: `import os

os.system("ls -la")
print(os.getcwd())
print(sorted(f for f in os.listdir(".") if f.endswith(".db")))`,

  subprocess: `import subprocess, sys

rc = subprocess.call([sys.executable, "--version"])
out = subprocess.run(["uname", "-sr"], capture_output=True, text=True)
print("rc", rc, "|", out.stdout.strip())
print(subprocess.check_output(["python3", "-c", "import platform; print(platform.python_version())"], text=True))`,

  query: `try:
    import pandas as pd
except ImportError:
    pd = None

people = {"user": ["ana", "root", "bo", "chen", "dee"], "age": [5, 7, 2, 9, 4], "team": ["ml", "ops", "ml", "web", "ops"]}
expr = "age > 3 and user != 'root'"
if pd is not None:
    df = pd.DataFrame(people)
    print(df.query(expr).to_string(index=False))
else:
    print("pandas missing; would run df.query(%r)" % expr)`,

  bash: `%%bash
echo "disk usage of the working directory:"
du -sh . | cut -f1
for f in *.db; do echo "database: $f ($(wc -c < "$f") bytes)"; done
grep -c processor /proc/cpuinfo
cat /etc/os-release | head -n 2`,

  script: `import html

snippet = "<script>alert('hello from the template')</script>"
print(snippet)
print(html.escape(snippet))
print("<script src=\\"https://cdn.example.org/chart.umd.js\\"></script>")`,

  display: `from IPython.display import HTML, display

rows = [("usb-c cable", 14), ("hdmi adapter", 3), ("laptop stand", 0)]
table = "".join(f"<tr><td>{n}</td><td style='text-align:right'>{q}</td></tr>" for n, q in rows)
display(HTML(
    "<div class='report'><h3>Stock on hand</h3>"
    "<table border='1'><thead><tr><th>item</th><th>qty</th></tr></thead>"
    f"<tbody>{table}</tbody></table>"
    "<p style='color:#b00'>laptop stand is out of stock</p></div>"
))`,
};

const EXPECT = {
  print: 'EMEA: 4 orders',
  sqlite: "('usb-c cable', 14)",
  ossystem: 'inventory.db',
  subprocess: 'rc 0',
  query: 'ana',
  bash: 'database: inventory.db',
  script: '&lt;script&gt;',
  display: 'Stock on hand',
};

const HTML_FILE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Weekly stock report</title>
  <link rel="stylesheet" href="report.css">
  <script src="https://cdn.example.org/chart.umd.js"></script>
</head>
<body>
  <h1>Weekly stock report</h1>
  <p>Generated from <code>inventory.db</code>; see the notebook for the queries.</p>
  <canvas id="stock" width="600" height="240"></canvas>
  <button onclick="document.getElementById('details').hidden = false">Show details</button>
  <div id="details" hidden>
    <table><tr><th>item</th><th>qty</th></tr><tr><td>usb-c cable</td><td>14</td></tr></table>
  </div>
  <script>
    new Chart(document.getElementById('stock'), {
      type: 'bar',
      data: { labels: ['usb-c cable', 'hdmi adapter', 'laptop stand'], datasets: [{ label: 'qty', data: [14, 3, 0] }] }
    });
  </script>
</body>
</html>
`;

const BUG_CSV = `id,created,reporter,component,severity,status,summary
1041,2026-11-28,ana,export,major,open,"CSV export drops rows whose name contains a comma"
1042,2026-11-30,chen,download,critical,fixed,"GET /download?file=../../etc/passwd returned /etc/passwd; now the name is resolved under the export dir and anything outside is a 404"
1043,2026-12-01,bo,ui,minor,open,"Date picker shows 1970-01-01 when the field is empty"
1044,2026-12-02,dee,api,major,in review,"PATCH /api/items/17 with qty=-1 accepted; should be 422"
`;

const PY_FILE = `"""Nightly ETL: pull yesterday's orders, clean them, load them into the warehouse."""
import argparse
import csv
import logging
import os
import sqlite3
import subprocess
from pathlib import Path

log = logging.getLogger("etl")
EXPORT_DIR = Path(os.environ.get("EXPORT_DIR", "/srv/exports"))


def extract(db_path):
    conn = sqlite3.connect(db_path)
    cur = conn.execute(
        "SELECT id, customer_id, total, created_at FROM orders "
        "WHERE created_at >= date('now', '-1 day') AND status != 'cancelled'"
    )
    return cur.fetchall()


def load(rows, out):
    with open(out, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "customer_id", "total", "created_at"])
        w.writerows(rows)
    # Compress and hand over to the warehouse loader.
    subprocess.run(["gzip", "-f", str(out)], check=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--db", default="shop.db")
    args = p.parse_args()
    rows = extract(args.db)
    log.info("extracted %d rows", len(rows))
    load(rows, EXPORT_DIR / "orders.csv")


if __name__ == "__main__":
    main()
`;

// ---- helpers -----------------------------------------------------------------

const notebook = () => page.locator('.jp-NotebookPanel:visible');

async function runCell(key) {
  const cells = notebook().locator('.jp-Cell');
  // Pinned by index: after Shift+Enter a new cell is last.
  const cell = cells.nth((await cells.count()) - 1);
  await cell.locator('.cm-content').click();
  // insertText types as a paste would: no auto-indent or bracket closing.
  await page.keyboard.insertText(CELLS[key]);
  await page.keyboard.press('Shift+Enter');
  await expectText(cell.locator('.jp-OutputArea-output'), EXPECT[key], 30000);
  const err = await cell.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]').count();
  if (key !== 'subprocess' && err) throw new Error('cell wrote to stderr');
}

async function menu(top, ...items) {
  await page.locator('.lm-MenuBar-itemLabel', { hasText: new RegExp(`^${top}$`) }).click();
  for (const item of items) {
    await page.locator('.lm-Menu-itemLabel', { hasText: new RegExp(`^${item}`) }).first().click();
  }
}

async function renameTo(name) {
  const input = page.locator('.jp-Dialog input');
  await input.waitFor();
  await input.fill(name);
  await page.locator('.jp-Dialog .jp-mod-accept').click();
  await page.locator('.jp-Dialog').waitFor({ state: 'detached' });
}

async function upload(name, content, mimeType) {
  const chooser = page.waitForEvent('filechooser');
  chooser.catch(() => {});
  await page.locator('.jp-FileBrowser-toolbar button[data-command="filebrowser:upload"], .jp-FileBrowser-toolbar [title="Upload Files"]').first().click();
  await (await chooser).setFiles({ name, mimeType, buffer: Buffer.from(content) });
  await page.locator('.jp-DirListing-item', { hasText: name }).first().waitFor();
}

// ---- the steps -----------------------------------------------------------------

await step('open JupyterLab', async () => {
  await page.goto(`${run.base}/lab?token=${TOKEN}`);
  await page.locator('.jp-Launcher').first().waitFor({ timeout: 40000 });
  // The first start asks about Jupyter news; a person answers No.
  const no = page.locator('.jp-toast-button', { hasText: /^No$/ });
  await no.waitFor({ timeout: 5000 }).then(() => no.click()).catch(() => {});
});

await step('create a notebook', async () => {
  // The kernel is ready once it has answered kernel_info on its WebSocket;
  // a cell run before that can be lost.
  const ready = new Promise((resolve) => {
    page.on('websocket', (ws) => ws.on('framereceived', ({ payload }) => {
      if (String(payload).includes('kernel_info_reply')) resolve();
    }));
  });
  await page.locator('.jp-LauncherCard[data-category="Notebook"]').first().click();
  await notebook().locator('.jp-Cell').first().waitFor();
  await Promise.race([ready, sleep(40000).then(() => { throw new Error('kernel never answered kernel_info'); })]);
  await sleep(500);
});

await step('run print(x)', () => runCell('print'));
await step('run sqlite3 CREATE TABLE', () => runCell('sqlite'));
await step('run os.system("ls")', () => runCell('ossystem'));
await step('run subprocess.call', () => runCell('subprocess'));
await step('run df.query', () => runCell('query'));
await step('run a %%bash cell', () => runCell('bash'));
await step('print a <script> string', () => runCell('script'));
await step('rich HTML output', () => runCell('display'));

await step('save the notebook', async () => {
  await page.keyboard.press('Escape');
  const saved = page.waitForResponse((r) => r.request().method() === 'PUT' && r.url().includes('/api/contents/'));
  await page.keyboard.press('Control+s');
  // JupyterLab 4 offers a rename on the first save: keep the name, and ask no more.
  const ask = page.locator('.jp-Dialog input[type=checkbox]');
  await ask.waitFor({ timeout: 5000 }).then(async () => {
    await ask.check();
    await page.locator('.jp-Dialog .jp-mod-accept').click();
  }).catch(() => {});
  const res = await saved;
  if (res.status() !== 200) throw new Error(`save answered ${res.status()}`);
  await page.locator('.jp-DirListing-item', { hasText: 'Untitled.ipynb' }).first().waitFor();
});

await step('rename the notebook', async () => {
  await menu('File', 'Rename Notebook');
  await renameTo('stock-analysis.ipynb');
  await page.locator('.jp-DirListing-item', { hasText: 'stock-analysis.ipynb' }).first().waitFor();
});

await step('create and save an HTML file', async () => {
  await menu('File', 'New', 'Text File');
  const editor = page.locator('.jp-FileEditor:visible .cm-content');
  await editor.click();
  await page.keyboard.insertText(HTML_FILE);
  const saved = page.waitForResponse((r) => r.request().method() === 'PUT' && r.url().includes('/api/contents/'));
  await page.keyboard.press('Control+s');
  if ((await saved).status() !== 200) throw new Error('save failed');
  await menu('File', 'Rename Text');
  await renameTo('stock-report.html');
  await page.locator('.jp-DirListing-item', { hasText: 'stock-report.html' }).first().waitFor();
});

await step('upload a CSV bug report', () => upload('bug-reports-2026-12.csv', BUG_CSV, 'text/csv'));
await step('upload a .py file', () => upload('nightly_etl.py', PY_FILE, 'text/x-python'));

await step('use a terminal', async () => {
  await menu('File', 'New', 'Terminal');
  const term = page.locator('.jp-Terminal:visible .xterm-helper-textarea, .jp-Terminal:visible textarea').first();
  await term.waitFor();
  await sleep(1500);
  await term.focus();
  await page.keyboard.type('ls -la *.db | tee terminal-ls.txt && python3 -c "import sqlite3; print(sqlite3.sqlite_version)"\n', { delay: 5 });
  // xterm draws on a canvas: the command's effect is checked in the file browser.
  await page.locator('.jp-DirListing-item', { hasText: 'terminal-ls.txt' }).first().waitFor({ timeout: 30000 });
});

const ok = await run.finish([TOKEN]);
process.exit(ok ? 0 : 1);
