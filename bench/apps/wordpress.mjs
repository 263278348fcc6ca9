// Six everyday WordPress steps in headless Chromium, through whatever is at
// BASE (Wafer, ModSecurity, or the site itself). See README.md.
// Env: BASE, WP_USER (editor), WP_PASS, RECORD, SHOTS.

import { Run, expectText } from './lib.mjs';
import { deflateSync } from 'node:zlib';

const USER = process.env.WP_USER || 'editor';
const PASS = process.env.WP_PASS || 'wafer-apps-Editor-2026';

const POST_TITLE = 'Why our nightly export got slow (and the index that fixed it)';
const POST = `<!-- wp:paragraph -->
<p>Last week the nightly export started timing out. These are the queries and commands I used to find out why, in case they help someone else.</p>
<!-- /wp:paragraph -->

<!-- wp:heading -->
<h2>The slow query</h2>
<!-- /wp:heading -->

<!-- wp:code -->
<pre class="wp-block-code"><code>SELECT c.email, COUNT(o.id) AS orders, SUM(o.total) AS revenue
FROM customers c
LEFT JOIN orders o ON o.customer_id = c.id
WHERE o.created_at &gt;= NOW() - INTERVAL 30 DAY
  AND c.status &lt;&gt; 'deleted'
GROUP BY c.email
HAVING COUNT(o.id) &gt; 1
ORDER BY revenue DESC
LIMIT 50;

-- the fix: an index the planner can use
CREATE INDEX idx_orders_customer_created ON orders (customer_id, created_at);</code></pre>
<!-- /wp:code -->

<!-- wp:paragraph -->
<p>And on the server:</p>
<!-- /wp:paragraph -->

<!-- wp:code -->
<pre class="wp-block-code"><code>$ sudo systemctl status mariadb --no-pager
$ grep -c "Query_time" /var/log/mysql/slow.log
$ tail -n 200 /var/log/mysql/slow.log | awk '/Query_time/ {print $3}' | sort -n | tail -5
$ mysqldump --single-transaction shop orders &gt; /tmp/orders.sql &amp;&amp; ls -lh /tmp/orders.sql</code></pre>
<!-- /wp:code -->

<!-- wp:paragraph -->
<p>The talk that made me look at composite indexes in the first place:</p>
<!-- /wp:paragraph -->

<!-- wp:html -->
<iframe width="560" height="315" src="https://www.youtube.com/embed/Xq3TbLw9FkE" title="YouTube video player" frameborder="0" allow="accelerometer; autoplay; clipboard-write; encrypted-media; gyroscope; picture-in-picture; web-share" allowfullscreen></iframe>
<!-- /wp:html -->

<!-- wp:paragraph -->
<p>One more thing: if you print user input in a template, a <code>&lt;script&gt;</code> tag in it must come out escaped. In a theme, <code>esc_html( $title )</code> does that.</p>
<!-- /wp:paragraph -->

<!-- wp:html -->
<!-- Google tag (gtag.js) -->
<script async src="https://www.googletagmanager.com/gtag/js?id=G-7QX2LM4K9P"></script>
<script>
  window.dataLayer = window.dataLayer || [];
  function gtag(){dataLayer.push(arguments);}
  gtag('js', new Date());
  gtag('config', 'G-7QX2LM4K9P');
</script>
<!-- /wp:html -->`;

const COMMENT = `Thanks, this saved me an evening. On PostgreSQL the filter has to be written WHERE o.created_at >= now() - interval '30 days', and for big tables I'd pipe the dump through gzip (mysqldump ... | gzip > orders.sql.gz). Did you look at EXPLAIN SELECT ... before and after adding the index?`;

const BIO = 'Backend developer at a small shop. I write about SQL tuning, shell one-liners & the odd <a href="https://dana.example.org/talks">conference talk</a>.';

// A small bar chart as a real PNG (the kind of image a post like this carries).
function chartPng(w = 240, h = 120) {
  const bars = [30, 55, 42, 90, 76, 64];
  const rows = [];
  for (let y = 0; y < h; y++) {
    const row = Buffer.alloc(1 + w * 3, 255);
    row[0] = 0;
    for (let x = 0; x < w; x++) {
      const b = Math.floor(x / (w / bars.length));
      const inBar = x % (w / bars.length) > 6 && h - y < bars[b];
      if (inBar) row.set([40 + b * 30, 90, 160], 1 + x * 3);
      if (y === h - 1 || x === 0) row.set([0, 0, 0], 1 + x * 3);
    }
    rows.push(row);
  }
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf) => {
    let c = 0xffffffff;
    for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type), data]);
    const c = Buffer.alloc(4);
    c.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, c]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.concat(rows))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

const run = new Run('app:wordpress');
await run.launch();
const ctx = await run.context();
const page = await ctx.newPage();
let permalink = null;

await run.run('log in', async () => {
  // Reached by IP: WordPress sends us to wp-login.php?redirect_to=http://127.0.0.1:PORT/wp-admin/.
  await page.goto(`${run.base}/wp-admin/`);
  await page.waitForURL(/wp-login\.php/);
  await page.fill('#user_login', USER);
  await page.fill('#user_pass', PASS);
  await Promise.all([page.waitForNavigation(), page.click('#wp-submit')]);
  await page.locator('#wpadminbar').waitFor();
}, { page });

await run.run('publish a technical post', async () => {
  await page.goto(`${run.base}/wp-admin/post-new.php`);
  await page.waitForFunction(() => window.wp && wp.data && wp.blocks && wp.data.select('core/editor').getCurrentPostId());
  // The first visit shows the welcome guide; a person closes it.
  const guide = page.locator('.edit-post-welcome-guide');
  if (await guide.isVisible().catch(() => false)) await page.keyboard.press('Escape');
  await page.evaluate(() => {
    if (wp.data.select('core/edit-post').isFeatureActive('welcomeGuide')) wp.data.dispatch('core/edit-post').toggleFeature('welcomeGuide');
  });
  // The blocks as pasted into the code editor: the editor serialises and saves them itself.
  await page.evaluate(({ title, html }) => {
    wp.data.dispatch('core/block-editor').resetBlocks(wp.blocks.parse(html));
    wp.data.dispatch('core/editor').editPost({ title });
  }, { title: POST_TITLE, html: POST });
  await page.click('.editor-post-publish-panel__toggle');
  await page.click('.editor-post-publish-panel .editor-post-publish-button');
  await expectText(page.locator('.post-publish-panel__postpublish-header'), 'is now live');
  permalink = await page.evaluate(() => wp.data.select('core/editor').getPermalink());
  const front = await page.context().newPage();
  await front.goto(permalink);
  await expectText(front.locator('code'), 'CREATE INDEX idx_orders_customer_created');
  await front.close();
}, { page });

await run.run('save general settings', async () => {
  await page.goto(`${run.base}/wp-admin/options-general.php`);
  await page.fill('#blogdescription', 'Notes on databases, shells & the web');
  await page.selectOption('#timezone_string', 'Europe/Berlin');
  await page.check('input[name="date_format"][value="Y-m-d"]');
  await Promise.all([page.waitForNavigation(), page.click('#submit')]);
  await expectText(page.locator('#setting-error-settings_updated'), 'Settings saved');
}, { page });

await run.run('upload media', async () => {
  await page.goto(`${run.base}/wp-admin/media-new.php`);
  await page.locator('#plupload-upload-ui input[type=file]').setInputFiles({
    name: 'export-duration-by-week.png',
    mimeType: 'image/png',
    buffer: chartPng(),
  });
  await page.locator('.media-item .edit-attachment, .media-item .error-div').first().waitFor({ timeout: 30000 });
  if (await page.locator('.media-item .error-div').count()) throw new Error('upload error shown');
  await page.goto(`${run.base}/wp-admin/upload.php?mode=list`);
  await expectText(page.locator('#the-list'), 'export-duration-by-week');
}, { page });

await run.run('comment as a visitor', async () => {
  if (!permalink) throw new Error('no post to comment on');
  const visitorCtx = await run.context();
  const v = await visitorCtx.newPage();
  await v.goto(permalink);
  await v.fill('#comment', COMMENT);
  await v.fill('#author', 'Mira K.');
  await v.fill('#email', 'mira.k@example.net');
  await v.fill('#url', 'https://mira.example.net/blog');
  await Promise.all([v.waitForNavigation(), v.click('#submit, .comment-form input[type=submit]')]);
  // A first comment by a stranger waits for moderation; WordPress says so.
  await expectText(v.locator('body'), 'awaiting moderation');
  await visitorCtx.close();
}, { page });

await run.run('edit the profile', async () => {
  await page.goto(`${run.base}/wp-admin/profile.php`);
  await page.fill('#first_name', 'Dana');
  await page.fill('#last_name', 'Okafor');
  await page.fill('#url', 'https://dana.example.org');
  await page.fill('#description', BIO);
  await Promise.all([page.waitForNavigation(), page.click('#submit')]);
  await expectText(page.locator('#message, .notice'), 'Profile updated');
}, { page });

const ok = await run.finish([PASS]);
process.exit(ok ? 0 : 1);
