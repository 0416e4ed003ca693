// Firefox for the browser tests (tests/browsers.py), driven by puppeteer-core over WebDriver
// BiDi: one page at a time, each step asked as a JSON line on stdin and answered on stdout.
import { createInterface } from "node:readline";
import puppeteer from "puppeteer-core";

const browser = await puppeteer.launch({ browser: "firefox", executablePath: process.argv[2],
                                         headless: true });
let page = null;
let seen = null;

const steps = {
  async open({ url, width, height }) {
    page = await browser.newPage();
    seen = { console: [], errors: [], requests: [] };
    page.on("console", (m) => seen.console.push(`${m.type()}: ${m.text()}`));
    page.on("pageerror", (e) => seen.errors.push(String(e)));
    page.on("request", (r) => seen.requests.push(r.url()));
    page.on("dialog", (d) => { seen.errors.push(`dialog: ${d.message()}`); d.dismiss(); });
    await page.setViewport({ width, height });
    await page.goto(url, { waitUntil: "load" });
  },
  evaluate: ({ expression }) => page.evaluate(expression),
  click: ({ x, y }) => page.mouse.click(x, y),
  press: ({ key }) => page.keyboard.press(key),
  screenshot: ({ path }) => page.screenshot({ path, fullPage: true }),
  seen: () => seen,
  async close() { await page.close(); page = null; },
};

for await (const line of createInterface({ input: process.stdin })) {
  const { step, ...args } = JSON.parse(line);
  let answer;
  try {
    answer = { value: (await steps[step](args)) ?? null };
  } catch (error) {
    answer = { error: String(error) };
  }
  process.stdout.write(JSON.stringify(answer) + "\n");
}
await browser.close();
