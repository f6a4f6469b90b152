#!/usr/bin/env python3
"""Writes lxml's answers to random XPath 1.0 expressions, for the differential test in
differential.rs. Run it again only to change the cases (it needs `pip install lxml`):

    python3 crates/xpath/tests/differential/generate.py > crates/xpath/tests/differential/cases.json.gz

The answers are written, not computed at test time, so the test runs without Python. The random
generator is seeded, so the file is reproducible with the same lxml (libxml2) version.
"""

import gzip
import json
import math
import random
import sys

from lxml import etree, html as lxml_html

# Documents that html5ever and libxml2 parse into the same tree: complete, no whitespace-only
# text between tags, explicit tbody, no implied end tags.
DOCUMENTS = [
    '<html lang="en"><head><title>Shop</title></head><body class="main  page" id="top">'
    '<div id="a" class="item first" data-n="3"><h2>Alpha</h2><span class="price">10</span>'
    '<a href="/a?x=1" title="  go\n to a ">link a</a><!--note a--></div>'
    '<div id="b" class="item" data-n="-2.5"><h2>Beta</h2><span class="price">2.5</span>'
    '<a href="b.html">link b</a>text after</div>'
    '<div id="c" class="other"><h2>Gamma</h2><span class="price">x</span><p lang="fr">Bonjour '
    '<b>le</b> monde</p></div>'
    '<ul><li>1</li><li>2</li><li class="last">3</li></ul></body></html>',
    '<html><head><title>Table</title></head><body><table id="t"><tbody>'
    '<tr><td>a1</td><td>b1</td><td>7</td></tr><tr><td>a2</td><td class="e"></td><td>-1</td></tr>'
    '<tr><td>a3</td><td>b3</td><td> 4 </td></tr></tbody></table>'
    '<p>one<br>two<i>three</i>four</p><!--end--></body></html>',
    '<html><head><title>Nest</title></head><body><section id="s1" data-k="v1">'
    '<div class="x"><div class="x y"><div class="y"><em>deep</em></div><em>mid</em></div>'
    '<em>top</em></div><div lang="de-AT"><span>s</span><span>t</span><span>u</span></div>'
    '</section><section id="s2"><article><h3>A</h3><p>p1</p><p>p2</p><p>p3</p></article>'
    '<article><h3>B</h3><p>q1</p></article></section></body></html>',
    '<html><head><title>Mixed</title><meta name="k" content="v"></head><body>'
    '<form><input name="q" value=" find me " type="text"><select name="s"><option value="1">'
    'One</option><option value="2" selected="selected">Two</option></select></form>'
    '<ol start="5"><li>e</li><li>f</li></ol><pre>  keep   spaces </pre><span>0</span>'
    '<span>0.5</span><span>NaN</span><span>-0</span></body></html>',
]

NAMES = ['html', 'head', 'title', 'body', 'div', 'h2', 'span', 'a', 'p', 'b', 'ul', 'li',
         'table', 'tbody', 'tr', 'td', 'br', 'i', 'section', 'em', 'article', 'h3', 'form',
         'input', 'select', 'option', 'ol', 'pre', 'meta', 'nosuch']
ATTRS = ['id', 'class', 'href', 'title', 'data-n', 'lang', 'data-k', 'name', 'value', 'type',
         'selected', 'start', 'content', 'nosuch']
LITERALS = ['', 'a', 'item', 'x', 'Alpha', 'b1', ' ', '1', '2.5', 'de', 'en', 'fr', 'p1',
            'link', 'o', 'abc', ' x  y ', '-0', 'NaN']
AXES = ['child', 'descendant', 'parent', 'ancestor', 'following-sibling', 'preceding-sibling',
        'following', 'preceding', 'attribute', 'self', 'descendant-or-self',
        'ancestor-or-self']


class Gen:
    def __init__(self, rng):
        self.r = rng
        self.names = NAMES

    def pick(self, xs):
        return self.r.choice(xs)

    def step(self, depth):
        r = self.r.random()
        if r < 0.08:
            return '..'
        if r < 0.14:
            return '.'
        if r < 0.30:
            s = '@' + self.pick(ATTRS + ['*'])
        else:
            axis = self.pick(AXES) + '::' if self.r.random() < 0.35 else ''
            if axis == 'attribute::':
                test = self.pick(ATTRS + ['*'])
            else:
                test = self.pick(self.names * 2 + ['*', '*', 'node()', 'text()', 'comment()'])
            s = axis + test
        while depth > 0 and self.r.random() < 0.3:
            s += '[' + self.predicate(depth - 1) + ']'
        return s

    def path(self, depth):
        n = self.r.randint(1, 3)
        steps = [self.step(depth) for _ in range(n)]
        sep = [self.pick(['/', '/', '//']) for _ in range(n - 1)]
        out = steps[0]
        for s, st in zip(sep, steps[1:]):
            out += s + st
        start = self.r.random()
        if start < 0.3:
            out = '//' + out
        elif start < 0.4:
            out = '/' + out
        return out

    def nodeset(self, depth):
        r = self.r.random()
        if depth > 0 and r < 0.12:
            return self.nodeset(depth - 1) + ' | ' + self.nodeset(depth - 1)
        if depth > 0 and r < 0.22:
            return '(' + self.nodeset(depth - 1) + ')[' + self.predicate(depth - 1) + ']'
        if depth > 0 and r < 0.27:
            return '(' + self.nodeset(depth - 1) + ')/' + self.step(depth - 1)
        return self.path(depth)

    def predicate(self, depth):
        r = self.r.random()
        if r < 0.25:
            return str(self.r.randint(0, 4))
        if r < 0.32:
            return 'last()'
        if r < 0.4:
            return 'position() ' + self.pick(['<', '>', '=', '!=', '<=', '>=']) + ' ' + \
                str(self.r.randint(1, 3))
        if r < 0.55:
            return self.boolean(depth)
        if r < 0.65:
            return self.number(depth)
        return self.nodeset(depth)

    def number(self, depth):
        r = self.r.random()
        if depth <= 0 or r < 0.2:
            return self.pick(['0', '1', '2', '3', '0.5', '-1', '1.5', '10', '1e0'
                              if False else '100', '.5', '3.0'])
        if r < 0.3:
            return 'count(' + self.nodeset(depth - 1) + ')'
        if r < 0.4:
            return 'sum(' + self.nodeset(depth - 1) + ')'
        if r < 0.47:
            return 'string-length(' + self.string(depth - 1) + ')'
        if r < 0.54:
            return 'number(' + self.any(depth - 1) + ')'
        if r < 0.62:
            return self.pick(['floor', 'ceiling', 'round']) + '(' + self.number(depth - 1) + ')'
        if r < 0.68:
            return self.pick(['position()', 'last()'])
        if r < 0.72:
            return '-' + self.number(depth - 1)
        return self.number(depth - 1) + ' ' + self.pick(['+', '-', '*', 'div', 'mod']) + ' ' + \
            self.number(depth - 1)

    def string(self, depth):
        r = self.r.random()
        if depth <= 0 or r < 0.2:
            return "'" + self.pick(LITERALS) + "'"
        if r < 0.32:
            return 'string(' + self.any(depth - 1) + ')'
        if r < 0.4:
            return 'concat(' + self.string(depth - 1) + ', ' + self.string(depth - 1) + ')'
        if r < 0.48:
            return self.pick(['substring-before', 'substring-after']) + '(' + \
                self.string(depth - 1) + ', ' + self.string(depth - 1) + ')'
        if r < 0.56:
            args = self.string(depth - 1) + ', ' + self.number(depth - 1)
            if self.r.random() < 0.5:
                args += ', ' + self.number(depth - 1)
            return 'substring(' + args + ')'
        if r < 0.64:
            return 'normalize-space(' + self.string(depth - 1) + ')'
        if r < 0.7:
            return 'translate(' + self.string(depth - 1) + ", 'abcx ', 'ABC_')"
        if r < 0.8:
            return self.pick(['name', 'local-name']) + '(' + self.nodeset(depth - 1) + ')'
        return 'string(' + self.nodeset(depth - 1) + ')'

    def boolean(self, depth):
        r = self.r.random()
        if depth <= 0 or r < 0.1:
            return self.pick(['true()', 'false()'])
        if r < 0.4:
            return self.any(depth - 1) + ' ' + self.pick(['=', '!=', '<', '>', '<=', '>=']) + \
                ' ' + self.any(depth - 1)
        if r < 0.5:
            return self.boolean(depth - 1) + ' ' + self.pick(['and', 'or']) + ' ' + \
                self.boolean(depth - 1)
        if r < 0.58:
            return 'not(' + self.any(depth - 1) + ')'
        if r < 0.68:
            return self.pick(['contains', 'starts-with']) + '(' + self.string(depth - 1) + \
                ', ' + self.string(depth - 1) + ')'
        if r < 0.74:
            return 'boolean(' + self.any(depth - 1) + ')'
        if r < 0.8:
            return 'lang(' + self.string(depth - 1) + ')'
        return self.nodeset(depth - 1)

    def any(self, depth):
        return self.pick([self.nodeset, self.nodeset, self.string, self.number,
                          self.boolean])(depth)

    def top(self):
        depth = self.r.randint(1, 3)
        return self.pick([self.nodeset] * 5 + [self.string, self.number, self.number,
                                               self.boolean])(depth)


def node_key(n):
    """A key naming a node the same way whether it came from the full list or a result."""
    if isinstance(n, etree._Element):
        return ('E', id(n))
    if getattr(n, 'is_attribute', False):
        return ('A', id(n.getparent()), n.attrname)
    if getattr(n, 'is_text', False) or getattr(n, 'is_tail', False):
        return ('T', id(n.getparent()), bool(n.is_tail))
    return None


def describe(n):
    if isinstance(n, etree._Comment):
        return 'comment', '', n.text or ''
    if isinstance(n, etree._Element):
        return 'element', n.tag, n.xpath('string(.)')
    if getattr(n, 'is_attribute', False):
        return 'attribute', n.attrname, str(n)
    return 'text', '', str(n)


def number_text(x):
    if math.isnan(x):
        return 'NaN'
    if math.isinf(x):
        return 'Infinity' if x > 0 else '-Infinity'
    if x == 0:
        return '-0' if math.copysign(1, x) < 0 else '0'
    return repr(x)


def main():
    rng = random.Random(16)
    gen = Gen(rng)
    docs = []
    trees = []
    for text in DOCUMENTS:
        tree = lxml_html.document_fromstring(text).getroottree()
        everything = tree.xpath('//node() | //@*')
        index = {}
        nodes = []
        for i, n in enumerate(everything):
            index[node_key(n)] = i
            nodes.append(describe(n))
        docs.append({'html': text, 'nodes': nodes})
        # `everything` keeps the element proxies alive, so their ids stay valid.
        trees.append((tree, index, everything))
    cases = []
    seen = set()
    empty = 0
    while len(cases) < 12000:
        d = rng.randrange(len(DOCUMENTS))
        tree, index, _ = trees[d]
        gen.names = sorted({e.tag for e in tree.iter() if isinstance(e.tag, str)}) + ['nosuch']
        expr = gen.top()
        # Relative paths start at the body element or at the html element (lxml evaluates from
        # the root element, never from the document node).
        at_body = rng.random() < 0.7
        if (d, at_body, expr) in seen or len(expr) > 300:
            continue
        seen.add((d, at_body, expr))
        try:
            result = (tree.getroot().find('body') if at_body else tree).xpath(expr)
        except etree.XPathError:
            continue
        # Empty node-sets say little; keep only some of them.
        if result == [] and rng.random() < 0.7:
            continue
        if isinstance(result, list):
            keys = [node_key(n) for n in result]
            if any(k not in index for k in keys):
                continue
            answer = {'nodes': [index[k] for k in keys]}
        elif isinstance(result, bool):
            answer = {'boolean': result}
        elif isinstance(result, float):
            answer = {'number': number_text(result)}
        else:
            answer = {'string': str(result)}
        cases.append([d, 'body' if at_body else 'html', expr, answer])
    out = {
        'generator': 'crates/xpath/tests/differential/generate.py',
        'lxml': '.'.join(map(str, etree.LXML_VERSION)),
        'libxml2': '.'.join(map(str, etree.LIBXML_VERSION)),
        'documents': docs,
        'cases': cases,
    }
    data = json.dumps(out, ensure_ascii=False, separators=(',', ':')).encode()
    sys.stdout.buffer.write(gzip.compress(data, 9, mtime=0))


if __name__ == '__main__':
    main()
