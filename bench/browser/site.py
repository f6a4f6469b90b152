#!/usr/bin/env python3
"""The browser benchmark's fixture site, served from memory on 127.0.0.1.

    site.py PORT

/js/page-N.html (N = 1..200): an app shell. The list of 20 products is inline JSON that a
shared script (/static/app.js) renders into the page, with a thumbnail per product, a
stylesheet and a web font: what a small shop built with a front-end framework serves.
/html/page-N.html: the same products rendered on the server (a page that needs no browser),
for measuring what `auto` costs when the browser is not needed.
"""

import json
import sys
import zlib
import struct
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PAGES = 200
PER_PAGE = 20


def products(page):
    first = (page - 1) * PER_PAGE + 1
    return [
        {
            "id": n,
            "name": f"Product {n}",
            "price": f"{n * 1.25:.2f}",
            "url": f"/product/{n}",
            "image": f"/img/{n}.png",
            "description": "A sturdy, well made thing. " * 6,
        }
        for n in range(first, first + PER_PAGE)
    ]


def png(width=96, height=96):
    """A valid, incompressible-enough PNG of a few KB."""
    raw = b"".join(b"\x00" + bytes((x * 7 + y * 13) % 256 for x in range(width * 3)) for y in range(height))
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 1)) + chunk(b"IEND", b""))


APP_JS = b"""
(function () {
  const data = JSON.parse(document.getElementById('data').textContent);
  const root = document.getElementById('root');
  const list = document.createElement('ul');
  list.className = 'grid';
  for (const p of data.products) {
    const li = document.createElement('li');
    li.className = 'product';
    li.innerHTML = '<a class="link"><img class="thumb" alt=""><h2 class="name"></h2></a>' +
      '<p class="price"></p><p class="desc"></p>';
    li.querySelector('.link').href = p.url;
    li.querySelector('.thumb').src = p.image;
    li.querySelector('.name').textContent = p.name;
    li.querySelector('.price').textContent = '$' + p.price;
    li.querySelector('.desc').textContent = p.description;
    list.appendChild(li);
  }
  root.appendChild(list);
})();
"""

APP_CSS = b"""
@font-face { font-family: Shop; src: url(/static/shop.woff2) format('woff2'); }
body { font-family: Shop, sans-serif; } .grid { display: grid; grid-template-columns: repeat(4, 1fr); }
.thumb { width: 96px; height: 96px; }
"""


def js_page(page):
    data = json.dumps({"page": page, "products": products(page)})
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>Shop, page {page}</title>
<link rel="stylesheet" href="/static/app.css"></head><body>
<div id="root"></div><noscript>You need to enable JavaScript to run this app.</noscript>
<script id="data" type="application/json">{data}</script>
<script src="/static/app.js"></script></body></html>""".encode()


def html_page(page):
    items = "".join(
        f'<li class="product"><a class="link" href="{p["url"]}"><img class="thumb" src="{p["image"]}" alt="">'
        f'<h2 class="name">{p["name"]}</h2></a><p class="price">${p["price"]}</p><p class="desc">{p["description"]}</p></li>'
        for p in products(page))
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>Shop, page {page}</title>
<link rel="stylesheet" href="/static/app.css"></head><body><ul class="grid">{items}</ul>
<script>window.analytics = [];</script></body></html>""".encode()


IMAGE = png()
FONT = bytes(range(256)) * 80
FILES = {"/static/app.js": (APP_JS, "text/javascript"), "/static/app.css": (APP_CSS, "text/css"),
         "/static/shop.woff2": (FONT, "font/woff2")}
for n in range(1, PAGES + 1):
    FILES[f"/js/page-{n}.html"] = (js_page(n), "text/html; charset=utf-8")
    FILES[f"/html/page-{n}.html"] = (html_page(n), "text/html; charset=utf-8")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        path = self.path.split("?")[0]
        if path in FILES:
            body, kind = FILES[path]
        elif path.startswith("/img/"):
            body, kind = IMAGE, "image/png"
        else:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    server.daemon_threads = True
    print("serving", flush=True)
    server.serve_forever()
