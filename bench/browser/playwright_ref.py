#!/usr/bin/env python3
"""The reference: the same pages scraped with Playwright driving the same Chromium.

    playwright_ref.py BASE PAGES TABS OUT.csv [--block-media]

Written the way a Playwright user writes it: one browser, one context, TABS pages working
through a queue of URLs; each page is loaded (`goto` waits for `load`), the product selector
awaited, and the fields read in the page. With --block-media, images, media and fonts are
aborted through `route`, as GrandmaScraper does by default.
"""

import asyncio
import csv
import sys

from playwright.async_api import async_playwright

BASE, PAGES, TABS, OUT = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
BLOCK = "--block-media" in sys.argv[5:]

READ = """els => els.map(e => [
  e.querySelector('.name').textContent.trim(),
  e.querySelector('.price').textContent.trim(),
  e.querySelector('.link').href,
  e.querySelector('.thumb').src,
])"""


async def main():
    async with async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        context = await browser.new_context()
        if BLOCK:
            async def block(route):
                if route.request.resource_type in ("image", "media", "font"):
                    await route.abort()
                else:
                    await route.continue_()
            await context.route("**/*", block)
        queue = asyncio.Queue()
        for n in range(1, PAGES + 1):
            queue.put_nowait(n)
        results = {}

        async def worker():
            page = await context.new_page()
            while not queue.empty():
                n = queue.get_nowait()
                await page.goto(f"{BASE}/js/page-{n}.html")
                await page.wait_for_selector(".product")
                results[n] = await page.eval_on_selector_all(".product", READ)
            await page.close()

        await asyncio.gather(*(worker() for _ in range(TABS)))
        await browser.close()
    with open(OUT, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["name", "price", "url", "image"])
        for n in sorted(results):
            w.writerows(results[n])


asyncio.run(main())
