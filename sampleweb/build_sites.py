"""Generate the static files of the sample web and its ground truth (expected.json).

    python -m sampleweb.build_sites          # (re)write sites/ and expected.json
    python -m sampleweb.build_sites --check  # exit 1 if the files on disk are stale

The output is a pure function of _content.py and this file (no clock, no randomness, sorted
iteration), so re-running it reproduces identical bytes and the generated files can be committed.

Links to another sample site are written as `__SITE_<site-id>__/path`; the server replaces the
placeholder with that site's base URL when serving, because ports are only known at run time.
"""

from __future__ import annotations

import argparse
import calendar
import html
import json
import posixpath
import re
import sys
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

from sampleweb._content import (
    CITY_PRIVATE,
    CITY_STORIES,
    COUNTY_STORIES,
    FARM_RELATED,
    HANWEB_STORIES,
    REPOSTS,
    Repost,
    Story,
)
from sampleweb.layout import EXPECTED_PATH, SITE_IDS, SITES_DIR

CST = timezone(timedelta(hours=8))
# The smallest valid GIF (1x1, transparent): pages reference real image files, not dead links.
GIF_1X1 = (b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00"
           b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")

STORIES: dict[str, Story] = {s.key: s for s in (*CITY_STORIES, CITY_PRIVATE, *HANWEB_STORIES, *COUNTY_STORIES)}


def site_url(site: str, path: str) -> str:
    """A link to another sample site; the server substitutes the real base URL."""
    return f"__SITE_{site}__{path}"


def esc(text: str) -> str:
    return html.escape(text, quote=True)


def rel(from_path: str, to_path: str) -> str:
    """Document-relative link as TRS templates write them ("./202301/t…", "../202212/t…")."""
    target = posixpath.relpath(to_path, posixpath.dirname(from_path))
    return target if target.startswith("..") else "./" + target


def cn_date(day: str) -> str:
    return f"{day[:4]}年{day[5:7]}月{day[8:10]}日"


def text_len(paras: Iterable[str]) -> int:
    return sum(len(p.lstrip("!")) for p in paras)


def paras_html(paras: Sequence[str], open_tag: str, indent: str = "") -> str:
    out = []
    for p in paras:
        if p.startswith("!"):
            out.append(f"{open_tag}<strong>{esc(p[1:])}</strong></p>")
        else:
            out.append(f"{open_tag}{indent}{esc(p)}</p>")
    return "\n".join(out)


SHARE_WIDGET = """<div class="bdsharebuttonbox"><span class="share-label">分享到：</span>
<a href="#" class="bds_weixin" data-cmd="weixin" title="分享到微信"></a>
<a href="#" class="bds_tsina" data-cmd="tsina" title="分享到新浪微博">
</a><a href="#" class="bds_qzone" data-cmd="qzone" title="分享到QQ空间">
</a><a href="#" class="bds_more" data-cmd="more"></a></div>
<script>window._bd_share_config={"common":{"bdSnsKey":{},"bdText":"","bdMini":"2","bdPic":"",
"bdStyle":"0","bdSize":"16"},"share":{}};
with(document)0[(getElementsByTagName('head')[0]||body).appendChild(createElement('script')).src=
'http://bdimg.share.baidu.com/static/api/js/share.js?v=89860593.js?cdnversion='+~(-new Date()/36e5)];</script>"""

PRINT_CLOSE = ('<a href="javascript:window.print()">打印本页</a>　'
               '<a href="javascript:window.opener=null;window.close()">关闭窗口</a>')


# ============================================================================================
# city-trs: TRS WCM city portal
# ============================================================================================

CITY = "泰兴市人民政府"
CITY_COLUMNS = {"xmjs": "项目建设", "zsyz": "招商引资"}

# Real TRS list pages define this inline and call it with (pageCount, currentPage, name, ext):
# the links to index_1.html … exist only as strings built at run time, never as literal hrefs.
TRS_PAGER_JS = r"""<script type="text/javascript">
function createPageHTML(_nPageCount, _nCurrIndex, _sPageName, _sPageExt){
	if(_nPageCount == null || _nPageCount<=1){
		return;
	}
	var nCurrIndex = _nCurrIndex || 0;
	document.write("共" + _nPageCount + "页&nbsp;&nbsp;");
	if(nCurrIndex == 0){
		document.write("首页&nbsp;上一页&nbsp;");
	}else{
		var nPrev = nCurrIndex - 1;
		var sPrev = (nPrev == 0) ? _sPageName + "." + _sPageExt : _sPageName + "_" + nPrev + "." + _sPageExt;
		document.write("<a href=\"" + _sPageName + "." + _sPageExt + "\">首页</a>&nbsp;");
		document.write("<a href=\"" + sPrev + "\">上一页</a>&nbsp;");
	}
	for(var i=0; i<_nPageCount; i++){
		var sHref = (i == 0) ? _sPageName + "." + _sPageExt : _sPageName + "_" + i + "." + _sPageExt;
		if(i == nCurrIndex){
			document.write("<span class=\"current\">" + (i+1) + "</span>&nbsp;");
		}else{
			document.write("<a href=\"" + sHref + "\">" + (i+1) + "</a>&nbsp;");
		}
	}
	if(nCurrIndex == _nPageCount - 1){
		document.write("下一页&nbsp;尾页");
	}else{
		document.write("<a href=\"" + _sPageName + "_" + (nCurrIndex + 1) + "." + _sPageExt + "\">下一页</a>&nbsp;");
		document.write("<a href=\"" + _sPageName + "_" + (_nPageCount - 1) + "." + _sPageExt + "\">尾页</a>");
	}
}
</script>"""

CITY_CSS = """body{margin:0;font:14px/1.8 "Microsoft YaHei",SimSun,sans-serif;color:#333;background:#f4f6f9}
a{color:#333;text-decoration:none}a:hover{color:#c00}
.w1200{width:1200px;margin:0 auto}.topbar{background:#eee;height:32px;line-height:32px;font-size:12px}
.header{height:120px;background:#b40f0f}.nav{background:#8f0a0a}.nav li{display:inline-block;padding:0 22px}
.nav a{color:#fff;font-size:16px}.main{display:flex;gap:20px;margin-top:16px}
.content{flex:1;background:#fff;padding:20px}
.side{width:280px}.side-box{background:#fff;margin-bottom:16px;padding:12px}
.list li{list-style:none;border-bottom:1px dashed #ddd;display:flex;justify-content:space-between}
.art-title{text-align:center;font-size:24px;color:#b40f0f}.art-info{text-align:center;color:#888;font-size:13px}
.art-info span{margin:0 8px}.footer{background:#333;color:#bbb;text-align:center;padding:20px 0;margin-top:20px}
.footer a{color:#bbb}.page{text-align:center;margin:20px 0}.cal td{width:40px;text-align:center}
"""


def _city_chrome(*, title: str, head_meta: str = "", crumbs: str, main: str) -> str:
    return f"""<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta http-equiv="X-UA-Compatible" content="IE=edge">
<title>{esc(title)}</title>
<meta name="SiteName" content="{CITY}">
<meta name="SiteDomain" content="www.taixing.gov.cn">
<meta name="SiteIDCode" content="3212830001">
{head_meta}<link rel="stylesheet" type="text/css" href="/css/style.css">
</head>
<body>
<div class="topbar"><div class="w1200"><span class="welcome">欢迎访问泰兴市人民政府门户网站</span>
<span class="top-links"><a href="javascript:void(0)" id="jtft">繁體</a> |
<a href="javascript:void(0)" class="wza">无障碍浏览</a> |
<a href="https://www.jiangsu.gov.cn/" target="_blank">江苏省人民政府</a> |
<a href="http://www.taizhou.gov.cn/" target="_blank">泰州市人民政府</a>
</span></div></div>
<div class="header"><div class="w1200"><a href="/" class="logo"><img src="/images/logo.gif" alt="{CITY}"></a>
<form class="search" action="http://so.taixing.gov.cn/jsearchfront/search.do" method="get" target="_blank">
<input type="hidden" name="websiteid" value="321283000000000"><input type="text" name="q" placeholder="请输入关键字">
<button type="submit">搜索</button></form></div></div>
<div class="nav"><ul class="w1200">
<li><a href="/">首页</a></li>
<li><a href="/xwzx/">新闻中心</a></li>
<li><a href="/xwzx/xmjs/">项目建设</a></li>
<li><a href="/xwzx/zsyz/">招商引资</a></li>
<li><a href="http://xxgk.taixing.gov.cn/" target="_blank">政务公开</a></li>
<li><a href="http://tz.jszwfw.gov.cn/" target="_blank">政务服务</a></li>
<li><a href="http://zmhd.taixing.gov.cn/" target="_blank">互动交流</a></li>
</ul></div>
<div class="w1200 bread">{crumbs}</div>
<div class="w1200 main">
<div class="content">
{main}
</div>
<div class="side">
<div class="side-box"><h3>活动日历</h3><p><a href="/calendar/?month=2023-01" class="cal-link">活动日历</a>
</p><p class="note">查看全市项目建设、招商活动安排</p></div>
<div class="side-box"><h3>热点专题</h3><ul>
<li><a href="/xwzx/xmjs/">重大项目建设</a></li>
<li><a href="/xwzx/zsyz/">招商引资在行动</a></li>
<li><a href="http://www.gov.cn/zhengce/" target="_blank">国务院政策文件库</a></li>
</ul></div>
<div class="side-box"><h3>便民服务</h3><ul>
<li><a href="http://tz.jszwfw.gov.cn/" target="_blank">江苏政务服务网泰州旗舰店</a></li>
<li><a href="http://12345.taixing.gov.cn/" target="_blank">12345政务服务便民热线</a></li>
</ul></div>
</div>
</div>
<div class="footer"><div class="w1200">
<p class="ft-links"><a href="/">网站首页</a> |
<a href="javascript:void(0)" onclick="SetHome(this,window.location)">设为首页</a> |
<a href="javascript:void(0)" onclick="AddFavorite(window.location,document.title)">加入收藏</a> |
<a href="http://www.gov.cn/" target="_blank">中国政府网</a></p>
<p>版权所有：{CITY}　主办单位：泰兴市人民政府办公室　承办单位：泰兴市大数据管理局</p>
<p>网站标识码：3212830001
<a href="http://beian.miit.gov.cn/" target="_blank">苏ICP备05023456号-1</a>
<a href="http://www.beian.gov.cn/portal/registerSystemInfo?recordcode=32128302000123"
target="_blank">苏公网安备 32128302000123号</a>
</p>
<p>联系电话：0523-87654321　地址：江苏省泰兴市国庆东路98号　建议使用1366×768分辨率浏览</p>
<p class="conac"><a href="http://bszs.conac.cn/sitename?method=show&amp;id=5B3C1E0F2A7D4E6C" target="_blank">
<img src="/images/logo.gif" alt="党政机关"></a></p>
</div></div>
</body>
</html>
"""


def _trs_crumbs(depth: int, column: str | None) -> str:
    """TRS breadcrumbs are relative (../../) and point at column directories."""
    up = "../" * depth
    parts = [f'<a href="{up or "./"}" title="首页" class="CurrChnlCls">首页</a>']
    if column is not None:
        parts.append(f'<a href="{"../" * (depth - 1) or "./"}" title="新闻中心" class="CurrChnlCls">新闻中心</a>')
        parts.append(f'<a href="{"../" * (depth - 2) or "./"}" title="{CITY_COLUMNS[column]}" '
                     f'class="CurrChnlCls">{CITY_COLUMNS[column]}</a>')
    return "当前位置：" + "&nbsp;&gt;&nbsp;".join(parts)


def _trs_image_path(story: Story) -> str:
    ymd = story.day.replace("-", "")
    num = story.path.rsplit("_", 1)[1].split(".")[0]
    return posixpath.join(posixpath.dirname(story.path), f"W0{ymd}{num}0001.gif")


def _city_article(story: Story, prev: Story | None, nxt: Story | None, related: Sequence[Story]) -> str:
    column = CITY_COLUMNS.get(story.column, "内部资料")
    paras = paras_html(story.paras, '<p style="text-indent: 2em;">')
    if story.image:
        img = rel(story.path, _trs_image_path(story))
        photo = (f'<p style="text-align: center;"><img src="{img}" title="{esc(story.image)}" '
                 f'alt="{esc(story.image)}" OLDSRC="{img.lstrip("./")}"></p>\n'
                 f'<p style="text-align: center;">{esc(story.image)}</p>\n')
        paras = photo + paras

    def link(s: Story | None) -> str:
        if s is None:
            return "没有了"
        return f'<a href="{rel(story.path, s.path)}" title="{esc(s.title)}">{esc(s.title)}</a>'

    rel_items = "\n".join(
        f'<li><a href="{rel(story.path, s.path)}" title="{esc(s.title)}" target="_blank">{esc(s.title)}</a>'
        f"<span>{s.day}</span></li>" for s in related)
    head_meta = (
        f'<meta name="ColumnName" content="{column}">\n'
        f'<meta name="ColumnType" content="{column}">\n'
        f'<meta name="ArticleTitle" content="{esc(story.title)}">\n'
        f'<meta name="PubDate" content="{story.date}">\n'
        f'<meta name="ContentSource" content="{esc(story.source)}">\n'
        f'<meta name="Keywords" content="{column},重大项目">\n'
        f'<meta name="Author" content="{esc(story.source)}">\n'
        f'<meta name="Description" content="{esc(story.paras[0].lstrip("!")[:60])}">\n'
    )
    main = f"""<div class="article">
<h1 class="art-title">{esc(story.title)}</h1>
<div class="art-info"><span>发布时间：{cn_date(story.day)} {story.date[11:]}</span>
<span>来源：{esc(story.source)}</span><span>浏览次数：<span id="hits">
</span></span><span class="font">【字体：<a href="javascript:doZoom(18)">大</a>
<a href="javascript:doZoom(16)">中</a> <a href="javascript:doZoom(14)">小</a>】</span>
</div>
<div class="art-con" id="zoom">
<div class="TRS_Editor"><div class="TRS_UEDITOR trs_paper_default trs_web">
{paras}
</div></div>
</div>
<div class="art-bottom">
<div class="share">{SHARE_WIDGET}</div>
<div class="print">{PRINT_CLOSE}</div>
</div>
<div class="prev-next">
<p>上一篇：{link(prev)}</p>
<p>下一篇：{link(nxt)}</p>
</div>
<div class="related"><h3>相关阅读</h3>
<ul>
{rel_items}
</ul></div>
</div>"""
    return _city_chrome(title=f"{story.title}_{CITY}", head_meta=head_meta,
                        crumbs=_trs_crumbs(3, story.column if story.column in CITY_COLUMNS else None),
                        main=main)


def _city_list_item(page_path: str, s: Story) -> str:
    # The robots-disallowed document is inserted by hand with a root-relative link.
    href = s.path if s.via == "never" else rel(page_path, s.path)
    return f'<li><a href="{href}" title="{esc(s.title)}" target="_blank">{esc(s.title)}</a><span>{s.day}</span></li>'


def _city_list(column: str, index: int, count: int, items: Sequence[Story]) -> tuple[str, str]:
    name = "index.html" if index == 0 else f"index_{index}.html"
    path = f"/xwzx/{column}/{name}"
    lis = "\n".join(_city_list_item(path, s) for s in items)
    main = f"""<div class="list-box">
<div class="list-title"><h2>{CITY_COLUMNS[column]}</h2></div>
<ul class="list">
{lis}
</ul>
<div class="page">{TRS_PAGER_JS}
<script>createPageHTML({count}, {index}, "index", "html");</script>
</div>
</div>"""
    title = f"{CITY_COLUMNS[column]}_{CITY}"
    head = (f'<meta name="ColumnName" content="{CITY_COLUMNS[column]}">\n'
            f'<meta name="ColumnType" content="{CITY_COLUMNS[column]}">\n')
    return path, _city_chrome(title=title, head_meta=head, crumbs=_trs_crumbs(2, column), main=main)


def _city_block(page_path: str, heading: str, more: str, stories: Sequence[Story]) -> str:
    lis = "\n".join(f'<li><a href="{rel(page_path, s.path)}" title="{esc(s.title)}" target="_blank">'
                    f"{esc(s.title)}</a><span>{s.day[5:]}</span></li>" for s in stories)
    return (f'<div class="block"><div class="block-title"><h2>{heading}</h2>'
            f'<a href="{more}" class="more">更多&gt;&gt;</a></div>\n<ul class="list">\n{lis}\n</ul></div>')


def _city_home(xmjs: Sequence[Story], zsyz: Sequence[Story]) -> str:
    top = xmjs[0]
    farm = next(r for r in REPOSTS if r.key == "f-dongyuan")
    main = f"""<div class="headline"><h2><a href="{rel('/index.html', top.path)}" target="_blank">{esc(top.title)}</a>
</h2>
<p>{esc(top.paras[0][:80])}……<a href="{rel('/index.html', top.path)}" target="_blank">[详细]</a></p></div>
{_city_block('/index.html', '项目建设', './xwzx/xmjs/', xmjs[:6])}
{_city_block('/index.html', '招商引资', './xwzx/zsyz/', zsyz)}
<div class="block"><div class="block-title"><h2>媒体关注</h2></div>
<ul class="list">
<li><a href="{site_url('farm-repost', farm.path)}" target="_blank">{esc(farm.title)}</a>
<span>{farm.date[5:10]}</span></li>
<li><a href="http://www.xinhuanet.com/local/" target="_blank">新华网：江苏泰兴“项目为王”跑出发展加速度</a>
<span>03-30</span></li>
</ul></div>
<div class="block friend-links"><div class="block-title"><h2>友情链接</h2></div>
<select onchange="window.open(this.value)"><option>-- 政府网站 --</option>
<option value="http://www.gov.cn/">中国政府网</option><option value="https://www.jiangsu.gov.cn/">江苏省人民政府</option>
<option value="http://www.taizhou.gov.cn/">泰州市人民政府</option></select>
<a href="http://www.gov.cn/" target="_blank">中国政府网</a>
<a href="https://www.jiangsu.gov.cn/" target="_blank">江苏省人民政府</a>
<a href="http://www.taizhou.gov.cn/" target="_blank">泰州市人民政府</a>
</div>"""
    return _city_chrome(title=CITY, head_meta='<meta name="ColumnName" content="首页">\n',
                        crumbs="当前位置：首页", main=main)


def _city_news_center(xmjs: Sequence[Story], zsyz: Sequence[Story]) -> str:
    main = (_city_block("/xwzx/index.html", "项目建设", "./xmjs/", xmjs[:5]) + "\n"
            + _city_block("/xwzx/index.html", "招商引资", "./zsyz/", zsyz))
    return _city_chrome(title=f"新闻中心_{CITY}", head_meta='<meta name="ColumnName" content="新闻中心">\n',
                        crumbs=_trs_crumbs(1, None) + "&nbsp;&gt;&nbsp;新闻中心", main=main)


CALENDAR_EVENTS = {6: "重大项目集中签约活动", 14: "项目建设现场观摩", 21: "招商引资工作例会"}


def render_calendar(year: int, month: int, day: int | None = None) -> str:
    """The city-trs 活动日历 for any month: an infinite link trap (prev/next month, forever).

    Served dynamically by the server; only links to other /calendar/ pages are added.
    """
    def key(y: int, m: int) -> str:
        return f"{y:04d}-{m:02d}"

    prev_y, prev_m = (year - 1, 12) if month == 1 else (year, month - 1)
    next_y, next_m = (year + 1, 1) if month == 12 else (year, month + 1)
    rows = []
    for week in calendar.Calendar(firstweekday=0).monthdayscalendar(year, month):
        cells = []
        for d in week:
            if d == 0:
                cells.append("<td></td>")
            elif d in CALENDAR_EVENTS:
                cls = ' class="on"' if d == day else ""
                cells.append(f'<td{cls}><a href="/calendar/?month={key(year, month)}&amp;day={d}" '
                             f'title="{CALENDAR_EVENTS[d]}">{d}</a></td>')
            else:
                cells.append(f"<td>{d}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    events = "\n".join(
        f'<li><a href="/calendar/?month={key(year, month)}&amp;day={d}">{month}月{d}日　{name}</a></li>'
        for d, name in sorted(CALENDAR_EVENTS.items()))
    detail = ""
    if day in CALENDAR_EVENTS:
        detail = (f'<div class="cal-detail"><h3>{year}年{month}月{day}日</h3>'
                  f"<p>{CALENDAR_EVENTS[day]}（具体安排以通知为准）</p></div>")
    main = f"""<div class="calendar">
<h2>活动日历 {year}年{month}月</h2>
<p class="cal-nav"><a href="/calendar/?month={key(prev_y, prev_m)}">&lt; 上个月</a>
<a href="/calendar/?month={key(next_y, next_m)}">下个月 &gt;</a></p>
<table class="cal"><tr><th>一</th><th>二</th><th>三</th><th>四</th><th>五</th><th>六</th><th>日</th></tr>
{chr(10).join(rows)}
</table>
{detail}
<ul class="events">
{events}
</ul>
</div>"""
    return _city_chrome(title=f"活动日历_{CITY}", head_meta='<meta name="ColumnName" content="活动日历">\n',
                        crumbs='当前位置：<a href="/">首页</a>&nbsp;&gt;&nbsp;活动日历', main=main)


def _chunks(items: Sequence[Story], size: int) -> list[list[Story]]:
    return [list(items[i:i + size]) for i in range(0, len(items), size)]


def build_city() -> dict[str, str | bytes]:
    files: dict[str, str | bytes] = {}
    xmjs = [s for s in CITY_STORIES if s.column == "xmjs"]
    zsyz = [s for s in CITY_STORIES if s.column == "zsyz"]
    everything = sorted(CITY_STORIES, key=lambda s: s.date, reverse=True)

    # 项目建设: 14 stories + the private link, newest first, 4 per page -> index, index_1..index_3.
    listed = sorted([*xmjs, CITY_PRIVATE], key=lambda s: s.date, reverse=True)
    pages = _chunks(listed, 4)
    for i, items in enumerate(pages):
        path, text = _city_list("xmjs", i, len(pages), items)
        files[path] = text
    path, text = _city_list("zsyz", 0, 1, zsyz)
    files[path] = text

    for column_stories in (xmjs, zsyz):
        ordered = sorted(column_stories, key=lambda s: s.date, reverse=True)
        for i, story in enumerate(ordered):
            prev = ordered[i - 1] if i > 0 else None
            nxt = ordered[i + 1] if i + 1 < len(ordered) else None
            at = everything.index(story)
            related = [everything[(at + k) % len(everything)] for k in range(1, 6)]
            files[story.path] = _city_article(story, prev, nxt, related)
            if story.image:
                files[_trs_image_path(story)] = GIF_1X1
    files[CITY_PRIVATE.path] = _city_article(CITY_PRIVATE, None, None, [])
    files["/index.html"] = _city_home(sorted(xmjs, key=lambda s: s.date, reverse=True),
                                      sorted(zsyz, key=lambda s: s.date, reverse=True))
    files["/xwzx/index.html"] = _city_news_center(sorted(xmjs, key=lambda s: s.date, reverse=True),
                                                  sorted(zsyz, key=lambda s: s.date, reverse=True))
    files["/robots.txt"] = "User-agent: *\nDisallow: /private/\n"
    files["/css/style.css"] = CITY_CSS
    files["/images/logo.gif"] = GIF_1X1
    return files


# ============================================================================================
# district-hanweb: Hanweb (大汉) district site, column 1229, list inside a <datastore>.
# ============================================================================================

DISTRICT = "常州市武进区人民政府"
HANWEB_COLUMN = 1229
HANWEB_UNIT = 1234
HANWEB_PER_PAGE = 3
HANWEB_WEBNAME = "%E5%B8%B8%E5%B7%9E%E5%B8%82%E6%AD%A6%E8%BF%9B%E5%8C%BA%E4%BA%BA%E6%B0%91%E6%94%BF%E5%BA%9C"
HANWEB_COL_PATH = f"/col/col{HANWEB_COLUMN}/index.html"

HANWEB_CSS = """body{margin:0;font:14px/1.8 "微软雅黑",sans-serif;background:#fff}a{color:#333;text-decoration:none}
.head{height:140px;background:#1a5fb4}.navbar{background:#0d4a94}.navbar a{color:#fff;padding:0 20px;font-size:16px}
.container{width:1100px;margin:0 auto}.location{padding:10px 0;color:#666}
.default_pgContainer li{list-style:none;line-height:36px;border-bottom:1px dotted #ccc;
display:flex;justify-content:space-between}
.main-txt{padding:20px 40px}.title{font-size:24px;color:#1a5fb4;text-align:center;font-weight:bold}
.info{text-align:center;color:#999}
.foot{background:#0d4a94;color:#dde;text-align:center;padding:18px 0;margin-top:30px}.foot a{color:#dde}
.pager{text-align:center;margin:16px 0}.pager a{margin:0 4px;padding:2px 8px;border:1px solid #ddd}
"""

# A stub of Hanweb's pager plugin so the page references no dead script.
HANWEB_JPAGE_JS = """/* jpage - Hanweb list pager (stub for the govbrief sample web) */
(function($){ if(!$){return;} $.fn.jpage = function(config){ return this; }; })(window.jQuery);
"""


def _hanweb_chrome(*, title: str, head_meta: str = "", location: str, main: str) -> str:
    return f"""<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml">
<head>
<meta http-equiv="Content-Type" content="text/html; charset=utf-8" />
<title>{esc(title)}</title>
<meta name="SiteName" content="{DISTRICT}" />
<meta name="SiteDomain" content="www.wj.gov.cn" />
<meta name="SiteIDCode" content="3204120001" />
{head_meta}<link href="/css/style.css" rel="stylesheet" type="text/css" />
<script type="text/javascript" src="/module/jslib/jquery/jpage/jquery.page.min.js"></script>
</head>
<body>
<div class="head"><div class="container"><a href="/" class="logo" title="{DISTRICT}">
<img src="/images/logo.gif" alt="{DISTRICT}" /></a>
<div class="search"><form action="http://www.wj.gov.cn/jrobot/search.do" method="get" target="_blank">
<input type="hidden" name="webid" value="1" /><input type="text" name="q" />
<input type="submit" value="搜索" /></form></div></div></div>
<div class="navbar"><div class="container">
<a href="/">首页</a><a href="{HANWEB_COL_PATH}">重大项目</a>
<a href="http://xxgk.wj.gov.cn/" target="_blank">政府信息公开</a>
<a href="http://czwj.jszwfw.gov.cn/" target="_blank">政务服务</a>
<a href="http://zmhd.wj.gov.cn/" target="_blank">政民互动</a>
</div></div>
<div class="container location">{location}</div>
<div class="container">
{main}
</div>
<div class="foot"><div class="container">
<p><a href="/">网站首页</a> | <a href="javascript:void(0)">网站地图</a> | <a href="javascript:void(0)">联系我们</a></p>
<p>版权所有：{DISTRICT}　主办单位：常州市武进区人民政府办公室　网站标识码：3204120001</p>
<p><a href="http://beian.miit.gov.cn/" target="_blank">苏ICP备05002123号</a>
<a href="http://www.beian.gov.cn/portal/registerSystemInfo?recordcode=32041202000456"
target="_blank">苏公网安备 32041202000456号</a>　联系电话：0519-86312345</p>
<p><a href="http://bszs.conac.cn/sitename?method=show&amp;id=7E2A9C4B1D3F5A60" target="_blank">
<img src="/images/logo.gif" alt="党政机关" /></a></p>
</div></div>
</body>
</html>
"""


def _hanweb_location(extra: str = "") -> str:
    return (f'您当前的位置：<a href="/">首页</a> &gt; <a href="{HANWEB_COL_PATH}">重大项目</a>{extra}')


def _hanweb_page_url(n: int) -> str:
    return f"{HANWEB_COL_PATH}?uid={HANWEB_UNIT}&pageNum={n}"


def _hanweb_list(page: int, pages: int, items: Sequence[Story], total: int) -> str:
    records = "\n".join(
        f'<record><![CDATA[\n<li><a href="{s.path}" target="_blank" title="{esc(s.title)}">{esc(s.title)}</a>'
        f"<span>{s.day}</span></li>\n]]></record>" for s in items)
    nextgroup = (f"/module/web/jpage/dataproxy.jsp?page=1&appid=1&webid=1&path=/&columnid={HANWEB_COLUMN}"
                 f"&unitid={HANWEB_UNIT}&webname={HANWEB_WEBNAME}&permissiontype=0")

    def a(n: int, label: str) -> str:
        return f'<a href="{esc(_hanweb_page_url(n))}">{label}</a>'

    pager = [a(1, "首页"), a(max(1, page - 1), "上一页")]
    pager += [f'<span class="current">{n}</span>' if n == page else a(n, str(n)) for n in range(1, pages + 1)]
    pager += [a(min(pages, page + 1), "下一页"), a(pages, "尾页"),
              f'<span class="total">共{total}条　第{page}/{pages}页</span>']
    main = f"""<div class="column-title"><h2>重大项目</h2></div>
<div class="default_pgContainer">
<div id="{HANWEB_UNIT}"><script type="text/xml"><datastore>
<nextgroup><![CDATA[<a href="{nextgroup}"></a>]]></nextgroup>
<recordset>
{records}
</recordset>
<totalrecord>{total}</totalrecord><totalpage>{pages}</totalpage>
</datastore></script></div>
<script type="text/javascript">
$(document).ready(function(){{
	$('#{HANWEB_UNIT}').jpage({{
		themeName: 'default', openCookies: false, dataBefore: '<ul class="list">', dataAfter: '</ul>',
		showMode: 'full', proxyUrl: '/module/web/jpage/dataproxy.jsp', groupSize: {pages},
		barPosition: 'bottom', totalRecord: {total}, perPage: {HANWEB_PER_PAGE}, currentPage: {page},
		configs: {{ uid: '{HANWEB_UNIT}', columnid: {HANWEB_COLUMN} }}
	}});
}});
</script>
</div>
<div class="pager">{" ".join(pager)}</div>"""
    head = '<meta name="ColumnName" content="重大项目" />\n<meta name="ColumnType" content="重大项目" />\n'
    return _hanweb_chrome(title=f"重大项目 {DISTRICT}", head_meta=head, location=_hanweb_location(), main=main)


def _hanweb_article(story: Story) -> str:
    head = (
        '<meta name="ColumnName" content="重大项目" />\n'
        '<meta name="ColumnType" content="重大项目" />\n'
        f'<meta name="ArticleTitle" content="{esc(story.title)}" />\n'
        f'<meta name="PubDate" content="{story.date}" />\n'
        f'<meta name="ContentSource" content="{esc(story.source)}" />\n'
        f'<meta name="Keywords" content="重大项目" />\n'
        f'<meta name="Description" content="{esc(story.paras[0][:60])}" />\n'
    )
    paras = paras_html(story.paras, '<p style="text-indent:2em;">')
    main = f"""<div class="main-txt">
<table width="100%" border="0" cellspacing="0" cellpadding="0">
<tr><td class="title">{esc(story.title)}</td></tr>
<tr><td class="info">发布日期：{story.day}　　信息来源：{esc(story.source)}　　浏览次数：<span id="c">
</span>　　字体：[<a href="javascript:doZoom(18)">大</a> <a href="javascript:doZoom(16)">中</a>
<a href="javascript:doZoom(14)">小</a>]</td></tr>
<tr><td class="bt_content"><div id="zoom"><!--ZJEG_RSS.content.begin--><meta name="ContentStart" />
{paras}
<meta name="ContentEnd" /><!--ZJEG_RSS.content.end--></div></td></tr>
</table>
<div class="bt-share">{SHARE_WIDGET}</div>
<div class="bt-print">{PRINT_CLOSE}</div>
</div>"""
    return _hanweb_chrome(title=f"{story.title} - {DISTRICT}", head_meta=head,
                          location=_hanweb_location(" &gt; 正文"), main=main)


def _hanweb_home(listed: Sequence[Story]) -> str:
    lis = "\n".join(f'<li><a href="{s.path}" target="_blank" title="{esc(s.title)}">{esc(s.title)}</a>'
                    f"<span>{s.day[5:]}</span></li>" for s in listed[:3])
    main = f"""<div class="home-news"><h2><a href="{HANWEB_COL_PATH}">重大项目</a></h2>
<ul class="list">
{lis}
</ul>
<p class="more"><a href="{HANWEB_COL_PATH}">更多&gt;&gt;</a></p></div>
<div class="links">友情链接：<a href="http://www.gov.cn/" target="_blank">中国政府网</a>
<a href="https://www.jiangsu.gov.cn/" target="_blank">江苏省人民政府</a>
<a href="http://www.changzhou.gov.cn/" target="_blank">常州市人民政府</a>
</div>"""
    return _hanweb_chrome(title=DISTRICT, location='您当前的位置：首页', main=main)


def build_hanweb() -> dict[str, str | bytes]:
    files: dict[str, str | bytes] = {}
    listed = [s for s in HANWEB_STORIES if s.via == "list"]
    pages = _chunks(listed, HANWEB_PER_PAGE)
    for i, items in enumerate(pages, start=1):
        # Page 1 is the static column page; the server maps ?uid=1234&pageNum=N to index_pageNumN.html.
        name = "index.html" if i == 1 else f"index_pageNum{i}.html"
        files[f"/col/col{HANWEB_COLUMN}/{name}"] = _hanweb_list(i, len(pages), items, len(listed))
    for story in HANWEB_STORIES:
        files[story.path] = _hanweb_article(story)
    files["/index.html"] = _hanweb_home(listed)
    in_sitemap = [s for s in HANWEB_STORIES if s.key in ("h-qianyue", "h-lingbujian", "h-tuijinhui", "h-xinchun")]
    in_sitemap.append(next(s for s in HANWEB_STORIES if s.via == "sitemap"))
    urls = "\n".join(
        f"  <url>\n    <loc>{site_url('district-hanweb', s.path)}</loc>\n    <lastmod>{s.day}</lastmod>\n"
        f"    <changefreq>never</changefreq>\n    <priority>0.6</priority>\n  </url>" for s in in_sitemap)
    files["/sitemap.xml"] = ('<?xml version="1.0" encoding="UTF-8"?>\n'
                             '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
                             f"{urls}\n</urlset>\n")
    files["/robots.txt"] = ("User-agent: *\nDisallow: /module/\n\n"
                            f"Sitemap: {site_url('district-hanweb', '/sitemap.xml')}\n")
    files["/css/style.css"] = HANWEB_CSS
    files["/images/logo.gif"] = GIF_1X1
    files["/module/jslib/jquery/jpage/jquery.page.min.js"] = HANWEB_JPAGE_JS
    return files


# ============================================================================================
# farm-repost: Sohu-like content farm
# ============================================================================================

FARM = "聚看点资讯"
FARM_CSS = """body{margin:0;font:16px/1.75 "PingFang SC","Microsoft YaHei",sans-serif;background:#fff}
.top-nav{height:44px;background:#f8f8f8;border-bottom:1px solid #eee}.wrapper{width:1080px;margin:0 auto;display:flex}
.left{flex:1;padding-right:40px}.sidebar{width:300px}.text-title h1{font-size:28px}.article p{margin:0 0 18px}
.lookall-box{background:#fff8e1;padding:14px;text-align:center}
.contact-box{border:1px dashed #f60;padding:10px;color:#f60}
.news-list li{list-style:none;line-height:40px;border-bottom:1px solid #f0f0f0}.date{color:#999;margin-left:12px}
"""


def _farm_chrome(*, title: str, head_meta: str = "", main: str, side: str) -> str:
    return f"""<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)}</title>
<meta name="keywords" content="项目建设,招商引资,重大项目,开工仪式,签约项目,泰兴,武进,项目资讯">
{head_meta}<link rel="stylesheet" href="/css/main.css">
<script>var _hmt = _hmt || [];(function(){{var hm=document.createElement("script");
hm.src="https://hm.baidu.com/hm.js?3f1a9c0e5b7d2e4f6a8c0b1d3e5f7a9c";
var s=document.getElementsByTagName("script")[0];s.parentNode.insertBefore(hm,s);}})();</script>
</head>
<body>
<div class="top-nav"><a href="/">{FARM}</a> | <a href="/news/">资讯</a> |
<a href="https://business.sohu.com/" target="_blank">财经</a> |
<a href="https://www.sohu.com/" target="_blank">搜狐首页</a>
<span class="login"><a href="javascript:;">登录</a> <a href="javascript:;">注册</a>
</span></div>
<div class="wrapper">
<div class="left main">
{main}
</div>
<div class="sidebar">
{side}
</div>
</div>
<div class="footer"><p>Copyright © 2023 {FARM} All Rights Reserved. 本站部分内容来源于互联网，如有侵权请联系删除。</p>
<p><a href="http://beian.miit.gov.cn/" target="_blank">京ICP备2021045678号-2</a>　客服邮箱：kefu@jkd-zixun.com</p></div>
</body>
</html>
"""


def _farm_side(listed: Sequence[Repost]) -> str:
    hot = "\n".join(f'<li><a href="{r.path}" target="_blank">{esc(r.title)}</a></li>' for r in listed)
    spam = "\n".join(f'<li><a href="https://www.sohu.com/a/{num}_120000001" target="_blank">{esc(t)}</a></li>'
                     for t, num in FARM_RELATED[:5])
    return (f'<div class="side-box"><h3>热门文章</h3><ul>\n{hot}\n</ul></div>\n'
            f'<div class="side-box"><h3>24小时热榜</h3><ul>\n{spam}\n</ul></div>\n'
            '<div class="side-box ad"><p>【广告】项目申报、可研报告代写，包过！咨询微信：xmsb_2023</p></div>')


def repost_paras(r: Repost) -> tuple[str, ...]:
    """The body text as the farm shows it: the original paragraphs, lightly edited."""
    if r.paras:
        return r.paras
    paras = list(STORIES[r.of].paras)
    if r.drop_last:
        paras = paras[:-1]
    for old, new in r.replacements:
        paras = [p.replace(old, new) for p in paras]
    return tuple(paras)


def _farm_article(r: Repost, prev: Repost | None, nxt: Repost | None, listed: Sequence[Repost]) -> str:
    original = STORIES[r.of]
    hant = bool(r.paras)
    paras = list(repost_paras(r))
    label = "原標題" if hant else "原标题"
    body = f"<p>{label}：{esc(r.original_title or original.title)}</p>\n" + paras_html(paras, "<p>")
    iso = datetime.strptime(r.date, "%Y-%m-%d %H:%M").replace(tzinfo=CST).isoformat()
    head = (f'<meta property="og:type" content="news">\n<meta property="og:title" content="{esc(r.title)}">\n'
            f'<meta property="article:published_time" content="{iso}">\n'
            f'<meta itemprop="datePublished" content="{r.date}">\n'
            f'<meta name="mediaid" content="{esc(r.author)}">\n')
    bait = ("試讀結束，加微信 jkd_zixun888 閱讀全文" if hant else "试读结束，加微信 jkd_zixun888 阅读全文")
    stuffing = " ".join(["项目建设", "项目建设", "招商引资", "招商引资", "重大项目", "重大项目推进会",
                         "签约项目", "开工仪式", "项目建设", "招商引资", "项目申报", "重大项目"])

    def link(x: Repost | None) -> str:
        return f'<a href="{x.path}">{esc(x.title)}</a>' if x else "没有了"

    related = "\n".join(f'<li><a href="https://www.sohu.com/a/{num}_120000001" target="_blank">{esc(t)}</a></li>'
                        for t, num in FARM_RELATED)
    # Every post carries the 试读结束 bait; on a truncated post it really hides the rest.
    lookall = (f'<div class="lookall-box"><div class="lookall-shadow"></div><section class="lookall">'
               f'<p class="lookall-text">{bait}</p><a href="javascript:;" class="lookall-btn">展开全文</a>'
               "</section></div>\n")
    main = f"""<div class="text" id="article-container">
<div class="text-title"><h1>{esc(r.title)}</h1>
<div class="article-info"><span class="time" id="news-time">{r.date}</span>
<span class="source">{"來源" if hant else "来源"}：{esc(r.source)}</span>
<span class="author">作者：<a href="javascript:;">{esc(r.author)}</a></span>
</div></div>
<article class="article" id="mp-editor">
{body}
{lookall}<p class="keywords-line">{stuffing}</p>
<div class="contact-box"><p>客服热线：400-800-6688（工作日 9:00-18:00）</p>
<p>微信号：jkd_zixun888　QQ：2852016688　QQ群：823456789</p>
<p>扫码关注公众号，每天推送全国重大项目信息！加微信阅读全文，还可进项目交流群。</p>
</div>
<p class="statement">版权声明：本文来源于网络，版权归原作者所有，仅供学习交流使用，
如有侵权请联系删除。转载请注明出处。</p>
<p data-role="editor-name">责任编辑：<span>小编</span></p>
</article>
<div id="articleAllsee"><a href="https://www.sohu.com/?strategyid=00001" target="_blank">返回搜狐，查看更多</a></div>
<div class="prev-next"><p>上一篇：{link(prev)}</p><p>下一篇：{link(nxt)}</p></div>
<div class="share-box">{SHARE_WIDGET}</div>
<div class="statement">平台声明：该文观点仅代表作者本人，本站系信息发布平台，仅提供信息存储空间服务。</div>
<div class="related"><h3>相关推荐</h3>
<ul>
{related}
</ul></div>
</div>"""
    return _farm_chrome(title=f"{r.title}_{FARM}", head_meta=head, main=main, side=_farm_side(listed))


def _rfc822(date: str) -> str:
    return format_datetime(datetime.strptime(date, "%Y-%m-%d %H:%M").replace(tzinfo=CST))


def build_farm() -> dict[str, str | bytes]:
    files: dict[str, str | bytes] = {}
    ordered = sorted(REPOSTS, key=lambda r: r.date, reverse=True)
    listed = [r for r in ordered if r.via == "list"]
    for r in ordered:
        # Prev/next only among listed posts, so the feed-only post stays unlinked everywhere.
        if r in listed:
            i = listed.index(r)
            prev = listed[i - 1] if i > 0 else None
            nxt = listed[i + 1] if i + 1 < len(listed) else None
        else:
            prev, nxt = listed[0], listed[1]
        # Stored as .html on disk; the server serves /a/<id> (no extension) from it.
        files[r.path + ".html"] = _farm_article(r, prev, nxt, listed)
    items = "\n".join(f'<li><a href="{r.path}" target="_blank">{esc(r.title)}</a>'
                      f'<span class="date">{r.date[:10]}</span></li>' for r in listed)
    spam = "\n".join(f'<li><a href="https://www.sohu.com/a/{num}_120000001" target="_blank">{esc(t)}</a>'
                     f'<span class="date">2023-03-{10 + i:02d}</span></li>'
                     for i, (t, num) in enumerate(FARM_RELATED[5:9]))
    news = f"""<div class="channel"><h2>项目资讯</h2>
<ul class="news-list">
{items}
</ul>
<h2>猜你喜欢</h2>
<ul class="guess-list">
{spam}
</ul>
<div class="pages"><span>1</span></div>
</div>"""
    files["/news/index.html"] = _farm_chrome(title=f"项目资讯_{FARM}", main=news, side=_farm_side(listed))
    home = f"""<div class="channel"><h2>今日推荐</h2>
<ul class="news-list">
{chr(10).join(f'<li><a href="{r.path}">{esc(r.title)}</a></li>' for r in listed[:3])}
</ul>
<p><a href="/news/">更多资讯&gt;&gt;</a></p>
</div>"""
    files["/index.html"] = _farm_chrome(title=f"{FARM} - 每天都有新发现", main=home, side=_farm_side(listed))
    entries = []
    for r in ordered:
        summary = repost_paras(r)[0].lstrip("!")
        summary = repost_paras(r)[1] if len(summary) < 20 else summary
        entries.append(
            f"    <item>\n      <title>{esc(r.title)}</title>\n"
            f"      <link>{site_url('farm-repost', r.path)}</link>\n"
            f'      <guid isPermaLink="true">{site_url("farm-repost", r.path)}</guid>\n'
            f"      <description>{esc(summary[:80])}……</description>\n"
            f"      <author>{esc(r.author)}</author>\n"
            f"      <pubDate>{_rfc822(r.date)}</pubDate>\n    </item>")
    files["/rss.xml"] = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0">\n  <channel>\n'
        f"    <title>{FARM} - 项目资讯</title>\n    <link>{site_url('farm-repost', '/news/')}</link>\n"
        "    <description>全国重大项目、招商引资资讯</description>\n    <language>zh-cn</language>\n"
        f"    <lastBuildDate>{_rfc822(ordered[0].date)}</lastBuildDate>\n"
        + "\n".join(entries) + "\n  </channel>\n</rss>\n")
    files["/css/main.css"] = FARM_CSS
    return files


# ============================================================================================
# county-gbk: old table-layout county site; bytes on disk are GBK
# ============================================================================================

COUNTY = "郸城县人民政府"


def _county_chrome(*, title: str, main: str) -> str:
    # Declares gb2312 like the real thing, while using GBK-only characters (镕 喆 珺).
    return f"""<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml">
<head>
<meta http-equiv="Content-Type" content="text/html; charset=gb2312" />
<title>{esc(title)}</title>
<link href="/css/css.css" rel="stylesheet" type="text/css" />
</head>
<body topmargin="0" leftmargin="0">
<table width="980" border="0" align="center" cellpadding="0" cellspacing="0">
<tr><td height="130" background="/images/banner.gif">
<img src="/images/banner.gif" width="980" height="130" alt="{COUNTY}" />
</td></tr>
<tr><td height="36" class="nav" bgcolor="#0b5aa2">
<a href="/index.html">网站首页</a> | <a href="/news/list.html">郸城要闻</a> |
<a href="http://www.dancheng.gov.cn/zwgk/" target="_blank">政务公开</a> |
<a href="http://www.hnzwfw.gov.cn/" target="_blank">网上办事</a> |
<a href="http://www.dancheng.gov.cn/hdjl/" target="_blank">互动交流</a>
</td></tr>
</table>
<table width="980" border="0" align="center" cellpadding="0" cellspacing="0" bgcolor="#FFFFFF">
<tr><td>
{main}
</td></tr>
</table>
<table width="980" border="0" align="center" cellpadding="0" cellspacing="0" class="bottom">
<tr><td align="center" height="90">
版权所有：{COUNTY}　主办单位：郸城县人民政府办公室　承办：郸城县大数据中心<br />
网站标识码：4116250001　<a href="http://beian.miit.gov.cn/" target="_blank">豫ICP备09012345号</a>
联系电话：0394-3212000<br />
地址：河南省周口市郸城县洺南路1号　建议使用IE8.0以上版本浏览器
<a href="http://bszs.conac.cn/sitename?method=show&amp;id=2C8E0A6B4D1F3579" target="_blank">党政机关</a>
</td></tr>
</table>
</body>
</html>
"""


def _county_article(story: Story, prev: Story | None, nxt: Story | None) -> str:
    body = paras_html(story.paras, "<p>", indent="　　")

    def link(s: Story | None) -> str:
        return f'<a href="{s.path}">{esc(s.title)}</a>' if s else "没有了"

    clicks = 100 + sum(map(ord, story.title)) % 900  # a fixed, plausible 点击 count
    main = f"""<table width="100%" border="0" cellspacing="0" cellpadding="0">
<tr><td height="30" class="weizhi">您现在的位置：<a href="/index.html">首页</a> &gt;&gt;
<a href="/news/list.html">郸城要闻</a> &gt;&gt; 正文</td></tr>
<tr><td height="50" align="center" class="art_title"><strong><font size="4" color="#C00000">{esc(story.title)}</font>
</strong></td></tr>
<tr><td height="28" align="center" class="art_info">时间：{cn_date(story.day)}　来源：{esc(story.source)}
点击：{clicks}次　【<a href="javascript:doZoom(16)">大</a>
<a href="javascript:doZoom(14)">中</a> <a href="javascript:doZoom(12)">小</a>】</td>
</tr>
<tr><td class="art_content" style="padding:15px 30px; font-size:14px; line-height:28px;">
{body}
</td></tr>
<tr><td align="right" height="30">{SHARE_WIDGET}</td></tr>
<tr><td align="center" height="30">【{PRINT_CLOSE}】</td></tr>
<tr><td class="sxp">上一篇：{link(prev)}<br />下一篇：{link(nxt)}</td></tr>
</table>"""
    return _county_chrome(title=f"{story.title}--{COUNTY}", main=main)


def build_county() -> dict[str, str | bytes]:
    files: dict[str, str | bytes] = {}
    ordered = sorted(COUNTY_STORIES, key=lambda s: s.date, reverse=True)
    listed = [s for s in ordered if s.via == "list"]
    for s in ordered:
        if s in listed:
            i = listed.index(s)
            prev = listed[i - 1] if i > 0 else None
            nxt = listed[i + 1] if i + 1 < len(listed) else None
        else:
            prev, nxt = None, None
        files[s.path] = _county_article(s, prev, nxt)
    rows = "\n".join(
        f'<tr><td height="28" class="list_td"><img src="/images/dot.gif" width="5" height="5" /> '
        f'<a href="{s.path}" target="_blank" title="{esc(s.title)}">{esc(s.title)}</a></td>'
        f'<td width="100" align="center" class="list_date">[{s.day}]</td></tr>' for s in listed)
    main = f"""<table width="100%" border="0" cellspacing="0" cellpadding="0">
<tr><td height="30" class="weizhi">您现在的位置：<a href="/index.html">首页</a> &gt;&gt; 郸城要闻</td></tr>
</table>
<table width="96%" border="0" align="center" cellpadding="0" cellspacing="0" class="list_table">
{rows}
</table>
<table width="96%" align="center"><tr><td align="center" height="40">
共{len(listed)}条记录　第1页/共1页　首页　上一页　下一页　尾页</td>
</tr></table>"""
    files["/news/list.html"] = _county_chrome(title=f"郸城要闻--{COUNTY}", main=main)
    home_rows = "\n".join(f'<tr><td><img src="/images/dot.gif" /> <a href="{s.path}" target="_blank">{esc(s.title)}</a>'
                          f"</td><td>{s.day[5:]}</td></tr>" for s in listed[:3])
    home = f"""<table width="100%"><tr><td class="lm_title">郸城要闻
<a href="/news/list.html">更多&gt;&gt;</a></td></tr></table>
<table width="100%">
{home_rows}
</table>
<table width="100%"><tr><td class="links">友情链接：<a href="http://www.gov.cn/" target="_blank">中国政府网</a>
<a href="https://www.henan.gov.cn/" target="_blank">河南省人民政府</a>
<a href="http://www.zhoukou.gov.cn/" target="_blank">周口市人民政府</a>
</td></tr></table>"""
    files["/index.html"] = _county_chrome(title=COUNTY, main=home)
    entries = "\n".join(
        f"  <entry>\n    <title>{esc(s.title)}</title>\n"
        f'    <link rel="alternate" type="text/html" href="{site_url("county-gbk", s.path)}"/>\n'
        f"    <id>{site_url('county-gbk', s.path)}</id>\n"
        f"    <updated>{s.day}T08:00:00+08:00</updated>\n"
        f"    <summary>{esc(s.paras[0][:60])}……</summary>\n  </entry>" for s in ordered)
    files["/atom.xml"] = (
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">\n'
        f"  <title>{COUNTY} - 郸城要闻</title>\n"
        f'  <link rel="self" href="{site_url("county-gbk", "/atom.xml")}"/>\n'
        f'  <link rel="alternate" href="{site_url("county-gbk", "/news/list.html")}"/>\n'
        f"  <id>{site_url('county-gbk', '/atom.xml')}</id>\n"
        f"  <updated>{ordered[0].day}T08:00:00+08:00</updated>\n"
        f"  <author><name>{COUNTY}</name></author>\n{entries}\n</feed>\n")
    files["/css/css.css"] = ("body{font-size:12px;font-family:宋体}a{color:#000;text-decoration:none}"
                             ".nav a{color:#fff}\n")
    files["/images/banner.gif"] = GIF_1X1
    files["/images/dot.gif"] = GIF_1X1
    return files


# ============================================================================================
# assembling, ground truth, checks
# ============================================================================================

BUILDERS = {"city-trs": build_city, "district-hanweb": build_hanweb, "farm-repost": build_farm,
            "county-gbk": build_county}


def _encode(site: str, path: str, content: str | bytes) -> bytes:
    if isinstance(content, bytes):
        return content
    if site == "county-gbk" and path.endswith(".html"):
        return content.encode("gbk")  # strict: a character outside GBK is a build error
    return content.encode("utf-8")


def render_all() -> dict[str, bytes]:
    """Every static file, keyed by '<site-id>/<path without leading slash>'."""
    out: dict[str, bytes] = {}
    for site in SITE_IDS:
        for path, content in sorted(BUILDERS[site]().items()):
            out[f"{site}{path}"] = _encode(site, path, content)
    return out


def _script(text: str) -> str:
    # Only the Traditional copy uses Traditional-only characters; no OpenCC needed at build time.
    return "hant" if re.search("[們專會議興區縣項這國時發]", text) else "hans"


def build_expected(files: dict[str, bytes]) -> dict:
    articles = []
    for s in (*CITY_STORIES, *HANWEB_STORIES, *COUNTY_STORIES):
        articles.append({"site": s.site, "path": s.path, "title": s.title, "published": s.day,
                         "source_org": s.source, "via": s.via, "kind": s.kind,
                         "script": "hans", "repost_of": None})
    for r in REPOSTS:
        original = STORIES[r.of]
        articles.append({"site": "farm-repost", "path": r.path, "title": r.title, "published": r.date[:10],
                         "source_org": r.source, "via": r.via, "kind": "article",
                         "script": _script(r.title + "".join(repost_paras(r))),
                         "repost_of": {"site": original.site, "path": original.path}})
    not_articles = [
        *({"site": "city-trs", "path": p} for p in (
            "/", "/index.html", "/xwzx/", "/xwzx/index.html", "/xwzx/xmjs/", "/xwzx/xmjs/index.html",
            "/xwzx/xmjs/index_1.html", "/xwzx/xmjs/index_2.html", "/xwzx/xmjs/index_3.html",
            "/xwzx/zsyz/", "/xwzx/zsyz/index.html", "/calendar/?month=2023-01")),
        *({"site": "district-hanweb", "path": p} for p in (
            "/", "/index.html", HANWEB_COL_PATH, _hanweb_page_url(1), _hanweb_page_url(2), _hanweb_page_url(3))),
        *({"site": "farm-repost", "path": p} for p in ("/", "/index.html", "/news/", "/news/index.html")),
        *({"site": "county-gbk", "path": p} for p in ("/index.html", "/news/list.html")),
    ]
    hosts: set[str] = set()
    for name, data in files.items():
        if name.endswith((".html", ".xml", ".txt")):
            text = data.decode("gbk" if name.startswith("county-gbk/") and name.endswith(".html") else "utf-8")
            hosts.update(h.lower() for h in re.findall(r"https?://([A-Za-z0-9.-]+)", text))
    return {
        "_comment": "Ground truth of the govbrief sample web; generated by build_sites.py, do not edit.",
        "articles": articles,
        "not_articles": not_articles,
        "never_fetch": [{"site": CITY_PRIVATE.site, "path": CITY_PRIVATE.path}],
        "external_hosts": sorted(hosts),
    }


def _self_check(files: dict[str, bytes], expected: dict) -> None:
    """Invariants the tests and the crawl rely on; a violation is a bug in the content."""
    titles = [a["title"] for a in expected["articles"]]
    dupes = {t for t in titles if titles.count(t) > 1}
    assert not dupes, f"duplicate titles: {dupes}"
    for s in (*CITY_STORIES, *HANWEB_STORIES, *COUNTY_STORIES):
        n = text_len(s.paras)
        lo, hi = (60, 150) if s.kind == "notice" else (300, 1500)
        assert lo <= n <= hi, f"{s.key}: body of {n} characters, expected {lo}-{hi}"
    html_pages = {k: v for k, v in files.items() if k.endswith(".html")}
    for a in expected["articles"]:
        if a["via"] == "list":
            continue
        # Sitemap-only and feed-only articles must not be linked from any HTML page.
        for name, data in html_pages.items():
            if name == f"{a['site']}{a['path']}" or name == f"{a['site']}{a['path']}.html":
                continue
            assert a["path"].encode() not in data, f"{a['path']} ({a['via']}) is linked from {name}"
    total = sum(len(v) for v in files.values())
    assert total < 2_000_000, f"sample web is {total} bytes"


def write_all(root: Path = SITES_DIR, expected_path: Path = EXPECTED_PATH) -> tuple[int, int]:
    """Write every file (and delete stale ones under root); returns (files, bytes)."""
    files = render_all()
    expected = build_expected(files)
    _self_check(files, expected)
    for name, data in files.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists() or target.read_bytes() != data:
            target.write_bytes(data)
    wanted = {root / name for name in files}
    for existing in sorted(root.rglob("*"), reverse=True):
        if existing.is_file() and existing not in wanted:
            existing.unlink()
        elif existing.is_dir() and not any(existing.iterdir()):
            existing.rmdir()
    expected_path.write_text(json.dumps(expected, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return len(files), sum(len(v) for v in files.values())


def check(root: Path = SITES_DIR, expected_path: Path = EXPECTED_PATH) -> list[str]:
    """Names of files that differ from what the generator produces now (empty = up to date)."""
    files = render_all()
    stale = [name for name, data in files.items()
             if not (root / name).is_file() or (root / name).read_bytes() != data]
    on_disk = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    stale += sorted(on_disk - set(files))
    expected = json.dumps(build_expected(files), ensure_ascii=False, indent=2) + "\n"
    if not expected_path.is_file() or expected_path.read_text(encoding="utf-8") != expected:
        stale.append(expected_path.name)
    return stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report files that are out of date")
    args = parser.parse_args(argv)
    if args.check:
        stale = check()
        for name in stale:
            print(f"stale: {name}")
        return 1 if stale else 0
    count, size = write_all()
    print(f"wrote {count} files ({size} bytes) under {SITES_DIR} and {EXPECTED_PATH.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
