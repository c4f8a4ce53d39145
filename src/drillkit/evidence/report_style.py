"""The stylesheet of report.html: a calm document on screen, and the same on A4 paper.

Inline in the page (the page fetches nothing), with only system fonts. Status
colours come in pairs (text on a tint) that stay readable in greyscale, and
``print-color-adjust: exact`` keeps badges and the verdict coloured when
printed. Print rules drop backgrounds and cards, keep each figure, proof,
table row and the chart on one page, and keep headings with what follows.
"""

from __future__ import annotations

STYLESHEET = """
:root{--ink:#1d2733;--muted:#5b6673;--line:#d9dee4;--bg:#f5f7f9;--good:#1f7a4d;
--good-bg:#e6f4ec;--bad:#c62828;--bad-bg:#fdecea;--warn:#a35c00;--warn-bg:#fff3e0;
--neutral:#5b6673;--neutral-bg:#eef1f4}
*{box-sizing:border-box}
html{-webkit-print-color-adjust:exact;print-color-adjust:exact}
body{margin:0;background:var(--bg);color:var(--ink);line-height:1.45;
font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace;
font-size:12.5px}
code{overflow-wrap:anywhere}
header{display:flex;gap:24px;align-items:stretch;justify-content:space-between;
padding:28px 40px;background:#17212b;color:#fff}
header .kicker{margin:0 0 4px;text-transform:uppercase;letter-spacing:.12em;font-size:11px;
color:#aab6c3}
h1{margin:0;font-size:28px;font-weight:650}
h1 .version{font-weight:400;color:#c7d1db}
.subtitle{margin:6px 0 0;color:#c7d1db}
.subtitle code{color:#fff}
.verdict{min-width:260px;max-width:380px;padding:14px 18px;border-radius:8px;color:#fff}
.verdict.good{background:var(--good)}.verdict.bad{background:var(--bad)}
.verdict.warn{background:var(--warn)}.verdict.muted{background:#4a5663}
.verdict-word{font-size:26px;font-weight:750;letter-spacing:.06em}
.verdict-reason{font-size:13px;opacity:.95}
main{max-width:1180px;margin:0 auto;padding:24px 40px 8px}
.unsigned{margin:0 0 18px;padding:12px 18px;border:2px solid var(--bad);border-radius:8px;
background:var(--bad-bg);color:var(--bad);font-weight:650}
section{background:#fff;border:1px solid var(--line);border-radius:8px;padding:18px 22px;
margin:0 0 18px}
h2{margin:0 0 12px;font-size:17px}
h3{margin:14px 0 6px;font-size:14px}
.figures{display:grid;grid-template-columns:repeat(4,1fr);gap:14px;background:none;border:0;
padding:0}
.figure{background:#fff;border:1px solid var(--line);border-left:5px solid var(--neutral);
border-radius:8px;padding:12px 16px}
.figure.good{border-left-color:var(--good)}.figure.bad{border-left-color:var(--bad)}
.figure.warn{border-left-color:var(--warn)}
.figure-label{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.06em}
.figure-value{font-size:26px;font-weight:700;margin:2px 0}
.figure-value.long{font-size:18px;line-height:1.25;padding:4px 0}
.figure-note{color:var(--muted);font-size:12.5px}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:11.5px;
font-weight:650;white-space:nowrap;border:1px solid transparent}
.badge.good{background:var(--good-bg);color:var(--good);border-color:#b7dfc8}
.badge.bad{background:var(--bad-bg);color:var(--bad);border-color:#f3b9b3}
.badge.warn{background:var(--warn-bg);color:var(--warn);border-color:#f5cf99}
.badge.muted{background:var(--neutral-bg);color:var(--neutral);border-color:var(--line)}
table{width:100%;border-collapse:collapse}
th,td{text-align:left;vertical-align:top;padding:7px 10px;border-bottom:1px solid var(--line)}
th{font-size:12px;color:var(--muted);font-weight:600;text-transform:uppercase;
letter-spacing:.04em;background:#fafbfc}
table.compact td,table.compact th{padding:4px 8px;font-size:12.5px}
table.events td:nth-child(4){width:60%}
table.compact td:nth-child(-n+2){white-space:nowrap}
.muted{color:var(--muted)}
figure{margin:0}
svg.timeline{display:block;max-width:100%;height:auto;border:1px solid var(--line);
border-radius:6px}
figcaption{color:var(--muted);font-size:12.5px;margin:8px 0 4px}
.legend{display:flex;flex-wrap:wrap;gap:14px;font-size:12.5px;margin:4px 0 12px}
.swatch i{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:5px;
vertical-align:-1px}
ol.proofs{list-style:none;margin:0;padding:0;display:grid;
grid-template-columns:repeat(2,minmax(0,1fr));gap:10px 18px}
.proof{border:1px solid var(--line);border-radius:6px;padding:9px 12px}
.proof[data-status=proven]{border-left:4px solid var(--good)}
.proof[data-status=failed]{border-left:4px solid var(--bad)}
.proof-head{display:flex;gap:8px;align-items:center}
.proof ul{margin:6px 0 0;padding-left:18px;font-size:12.5px}
.proof p{margin:6px 0 0;font-size:12.5px}
.proof .rule{color:var(--muted);font-size:11.5px}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:4px 18px;margin:0}
dt{color:var(--muted)}dd{margin:0}
.description{margin:0 0 12px}
ul.versions{columns:4 180px;margin:0;padding:0;list-style:none;font-size:12.5px}
.callout{margin:0;padding:10px 12px 10px 30px;background:var(--warn-bg);
border:1px solid #f5cf99;border-radius:6px}
pre{background:#f2f4f7;border:1px solid var(--line);border-radius:6px;padding:10px 12px;
white-space:pre-wrap;overflow-wrap:anywhere;margin:6px 0}
pre.command{font-size:14px;font-weight:600}
footer{max-width:1180px;margin:0 auto;padding:4px 40px 32px;color:var(--muted);font-size:12px}
@media (max-width:900px){.figures{grid-template-columns:repeat(2,1fr)}
ol.proofs{grid-template-columns:1fr}header{flex-direction:column}}
@page{size:A4;margin:12mm}
@media print{body{background:#fff;font-size:10.5pt}
header{background:#fff;color:var(--ink);border-bottom:3px solid var(--ink);padding:0 0 10px}
header .kicker,.subtitle,h1 .version{color:var(--muted)}.subtitle code{color:var(--ink)}
main,footer{max-width:none;padding:10px 0 0}
section{border:0;border-top:1px solid var(--line);border-radius:0;padding:10px 0;
break-inside:auto}
.figures{grid-template-columns:repeat(4,1fr)}
.figure,.proof,tr,svg,.verify-step{break-inside:avoid}
h2,h3{break-after:avoid}
ol.proofs{grid-template-columns:repeat(2,minmax(0,1fr))}}
"""
