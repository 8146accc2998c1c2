// The web UI in headless Chromium, as a new user walks it, run by
// tests/it/ui_browser.rs against servers it started and seeded. Elements
// are found by role and label, never by CSS class; axe-core checks every
// page (light and dark), and a serious or critical violation fails.
//
// Environment: SPOKE_UI_URL (an open server, seeded with common and user),
// SPOKE_UI_AUTH_URL and SPOKE_UI_TOKEN (a server with access control on,
// seeded the same, and a token that may read it), SPOKE_TEST_CHROMIUM
// (the browser), NODE_PATH (playwright-core and axe-core), and optionally
// SPOKE_UI_SCREENSHOTS: a directory to write a PNG of each page into
// (docs/ui.md says how to refresh the docs' screenshots).
"use strict";

const fs = require("fs");
const path = require("path");
const { chromium } = require("playwright-core");

const base = process.env.SPOKE_UI_URL;
const authBase = process.env.SPOKE_UI_AUTH_URL;
const token = process.env.SPOKE_UI_TOKEN;
const shots = process.env.SPOKE_UI_SCREENSHOTS;
const axeSource = fs.readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

function check(condition, message) {
  if (!condition) throw new Error(message);
}

async function expectVisible(locator, what) {
  try {
    await locator.first().waitFor({ state: "visible", timeout: 10000 });
  } catch (error) {
    throw new Error(`not visible: ${what} (${error.message.split("\n")[0]})`);
  }
}

const checked = [];

// axe-core on the current page; serious and critical violations fail.
async function audit(page, name) {
  await page.evaluate(axeSource);
  const results = await page.evaluate(() =>
    // eslint-disable-next-line no-undef
    axe.run(document, { resultTypes: ["violations"] }),
  );
  const bad = results.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  const scheme = await page.evaluate(() =>
    window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light",
  );
  checked.push(`${name} (${scheme})`);
  check(
    bad.length === 0,
    `axe-core on ${name} (${scheme}): ` +
      JSON.stringify(
        bad.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target).slice(0, 5) })),
      ),
  );
}

// Audits the page in light and dark, and keeps a screenshot when asked.
async function visit(page, name) {
  await page.emulateMedia({ colorScheme: "light" });
  await audit(page, name);
  if (shots) await page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });
  await page.emulateMedia({ colorScheme: "dark" });
  await audit(page, name);
  if (shots && name === "version") {
    await page.screenshot({ path: path.join(shots, `${name}-dark.png`), fullPage: true });
  }
  await page.emulateMedia({ colorScheme: "light" });
}

async function openWalk(browser) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (error) => errors.push(error.message));
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text());
  });

  // A browser at / lands on the module list, which lists both modules.
  await page.goto(`${base}/`);
  check(new URL(page.url()).pathname === "/ui/", `/ redirected to ${page.url()}`);
  const main = page.getByRole("main");
  await expectVisible(main.getByRole("link", { name: "common", exact: true }), "common in the list");
  await expectVisible(main.getByRole("link", { name: "user", exact: true }), "user in the list");
  await visit(page, "modules");

  // Keyboard: the first Tab reaches the skip link, "/" the search box.
  await page.keyboard.press("Tab");
  const focused = await page.evaluate(() => document.activeElement && document.activeElement.textContent);
  check(focused === "Skip to content", `the first Tab focused ${JSON.stringify(focused)}`);
  await page.keyboard.press("Escape");
  await page.locator("body").click({ position: { x: 5, y: 300 } });
  await page.keyboard.press("/");
  const searchFocused = await page.evaluate(() => document.activeElement && document.activeElement.id);
  check(searchFocused === "top-q", `"/" focused ${JSON.stringify(searchFocused)}`);

  // Search Money: the message and, by type, User.balance.
  const box = page.getByRole("searchbox", { name: "Search schemas" });
  await box.fill("Money");
  await box.press("Enter");
  await page.waitForURL(/\/ui\/search\?/);
  const results = page.getByRole("main");
  await expectVisible(results.getByRole("link", { name: "acme.common.v1.Money", exact: true }), "the Money message");
  await expectVisible(results.getByRole("link", { name: "acme.user.v1.User.balance", exact: true }), "User.balance");
  await visit(page, "search");

  // The result opens the message's docs, which link to its file at its line.
  await results.getByRole("link", { name: "acme.common.v1.Money", exact: true }).click();
  await page.waitForURL(/\/docs\/acme\.common\.v1#acme\.common\.v1\.Money$/);
  const money = page.getByRole("region", { name: "message Money" });
  await expectVisible(money, "Money's docs");
  await expectVisible(money.getByText("An amount of money in one currency."), "Money's comment");
  await visit(page, "docs");
  await money.getByRole("link", { name: "acme/common/v1/money.proto, line 5" }).click();
  await page.waitForURL(/\/file\/acme\/common\/v1\/money\.proto#L5$/);
  const line = await page.evaluate(() => {
    const target = document.querySelector(":target");
    return target && target.textContent;
  });
  check(line && line.includes("message Money"), `line 5 reads ${JSON.stringify(line)}`);
  await visit(page, "file");

  // The version page of user shows its dependency on common.
  await page.goto(`${base}/ui/m/user/v/1.0.0`);
  await expectVisible(page.getByRole("link", { name: "common@1.0.0" }), "the dependency link");
  await expectVisible(page.getByRole("img", { name: "user@1.0.0 depends on common@1.0.0" }), "the graph");
  await visit(page, "version");

  // From user's page, compare 1.0.0 with 2.0.0: the deleted field is breaking.
  await page.goto(`${base}/ui/m/user`);
  await expectVisible(page.getByRole("heading", { name: "user", level: 1 }), "user's heading");
  await visit(page, "module");
  const compare = page.getByRole("form", { name: "Compare versions" });
  await compare.getByLabel("From").selectOption("1.0.0");
  await compare.getByLabel("To").selectOption("2.0.0");
  await compare.getByRole("button", { name: "Compare" }).click();
  await page.waitForURL(/\/ui\/m\/user\/diff\?from=1\.0\.0&to=2\.0\.0$/);
  const deleted = page.getByRole("row").filter({ hasText: "acme.user.v1.User.email" });
  await expectVisible(deleted, "the deleted field's row");
  const rowText = await deleted.first().textContent();
  check(/removed/.test(rowText) && /breaking: FILE/.test(rowText), `the deletion reads ${JSON.stringify(rowText)}`);
  await visit(page, "diff");

  // The module filter asks the server (a plain GET form, so it works with
  // JavaScript off too) and keeps a shareable URL.
  for (const javaScriptEnabled of [true, false]) {
    const plain = await browser.newContext({ javaScriptEnabled });
    const tab = await plain.newPage();
    await tab.goto(`${base}/ui/`);
    const filter = tab.getByRole("form", { name: "Filter modules" });
    await filter.getByRole("searchbox", { name: "Filter modules" }).fill("Accounts");
    await filter.getByRole("button", { name: "Filter" }).click();
    await tab.waitForURL(/\/ui\/\?filter=Accounts$/);
    const listed = tab.getByRole("main").getByRole("table", { name: "Modules" });
    await expectVisible(listed.getByRole("link", { name: "user", exact: true }), "user, by its description");
    const others = await listed.getByRole("link", { name: "common", exact: true }).count();
    check(others === 0, `the filter kept common (js ${javaScriptEnabled})`);
    await tab.getByRole("link", { name: "Show all" }).click();
    await tab.waitForURL(/\/ui\/$/);
    await expectVisible(tab.getByRole("main").getByRole("link", { name: "common", exact: true }), "common again");
    await plain.close();
  }

  // Phone width: nothing but the code and tables scrolls sideways.
  for (const url of [`${base}/ui/`, `${base}/ui/m/user`, `${base}/ui/m/user/v/1.0.0`]) {
    await page.setViewportSize({ width: 375, height: 800 });
    await page.goto(url);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    check(overflow <= 0, `${url} overflows a phone's width by ${overflow}px`);
  }
  if (shots) await page.screenshot({ path: path.join(shots, "version-phone.png"), fullPage: true });

  // Dark mode follows the system.
  await page.emulateMedia({ colorScheme: "dark" });
  const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  check(background === "rgb(13, 17, 23)", `dark background is ${background}`);

  check(errors.length === 0, `script errors: ${errors.join("; ")}`);
  await context.close();
}

async function signInWalk(browser) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  // Anonymous reads are off: the list asks to sign in.
  const refused = await page.goto(`${authBase}/ui/`);
  check(refused.status() === 401, `anonymous /ui/ answered ${refused.status()}`);
  await page.getByRole("main").getByRole("link", { name: "Sign in" }).click();
  await page.waitForURL(/\/ui\/sign-in$/);
  await visit(page, "sign-in");
  const field = page.getByLabel("API token");
  await field.fill("not-a-valid-token-at-all");
  await page.getByRole("main").getByRole("button", { name: "Sign in" }).click();
  await expectVisible(page.getByRole("alert"), "the refusal");
  await field.fill(token);
  await page.getByRole("main").getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(/\/ui\/$/);
  await expectVisible(page.getByText("Signed in as"), "the signed-in name");
  await expectVisible(page.getByRole("main").getByRole("link", { name: "user", exact: true }), "user in the list");
  await page.getByRole("button", { name: "Sign out" }).click();
  await expectVisible(page.getByRole("banner").getByRole("link", { name: "Sign in" }), "signed out");
  await context.close();
}

(async () => {
  const browser = await chromium.launch({
    executablePath: process.env.SPOKE_TEST_CHROMIUM,
    args: ["--no-sandbox", "--disable-dev-shm-usage"],
  });
  try {
    await openWalk(browser);
    await signInWalk(browser);
    console.log(`walked; axe-core clean on ${checked.join(", ")}`);
  } finally {
    await browser.close();
  }
})().catch((error) => {
  console.error(error.stack || String(error));
  process.exit(1);
});
