from jinja2.runtime import LoopContext, Macro, Markup, Namespace, TemplateNotFound, TemplateReference, TemplateRuntimeError, Undefined, escape, identity, internalcode, markup_join, missing, str_join
name = 'report.html.j2'

def root(context, missing=missing):
    resolve = context.resolve_or_missing
    undefined = environment.undefined
    concat = environment.concat
    cond_expr_undefined = Undefined
    if 0: yield None
    l_0_script_hash = resolve('script_hash')
    l_0_overall = resolve('overall')
    l_0_report = resolve('report')
    l_0_views = resolve('views')
    l_0_status_counts = resolve('status_counts')
    l_0_ingest_bars = resolve('ingest_bars')
    l_0_process = resolve('process')
    l_0_script = resolve('script')
    l_0_badge = l_0_marker = l_0_svg = l_0_cell = l_0_ing = missing
    try:
        t_1 = environment.filters['count']
    except KeyError:
        @internalcode
        def t_1(*unused):
            raise TemplateRuntimeError("No filter named 'count' found.")
    try:
        t_2 = environment.filters['dictsort']
    except KeyError:
        @internalcode
        def t_2(*unused):
            raise TemplateRuntimeError("No filter named 'dictsort' found.")
    try:
        t_3 = environment.filters['first']
    except KeyError:
        @internalcode
        def t_3(*unused):
            raise TemplateRuntimeError("No filter named 'first' found.")
    try:
        t_4 = environment.filters['format']
    except KeyError:
        @internalcode
        def t_4(*unused):
            raise TemplateRuntimeError("No filter named 'format' found.")
    try:
        t_5 = environment.filters['join']
    except KeyError:
        @internalcode
        def t_5(*unused):
            raise TemplateRuntimeError("No filter named 'join' found.")
    try:
        t_6 = environment.filters['length']
    except KeyError:
        @internalcode
        def t_6(*unused):
            raise TemplateRuntimeError("No filter named 'length' found.")
    try:
        t_7 = environment.filters['list']
    except KeyError:
        @internalcode
        def t_7(*unused):
            raise TemplateRuntimeError("No filter named 'list' found.")
    try:
        t_8 = environment.filters['lower']
    except KeyError:
        @internalcode
        def t_8(*unused):
            raise TemplateRuntimeError("No filter named 'lower' found.")
    try:
        t_9 = environment.filters['ms']
    except KeyError:
        @internalcode
        def t_9(*unused):
            raise TemplateRuntimeError("No filter named 'ms' found.")
    try:
        t_10 = environment.filters['num']
    except KeyError:
        @internalcode
        def t_10(*unused):
            raise TemplateRuntimeError("No filter named 'num' found.")
    try:
        t_11 = environment.filters['p_value']
    except KeyError:
        @internalcode
        def t_11(*unused):
            raise TemplateRuntimeError("No filter named 'p_value' found.")
    try:
        t_12 = environment.filters['pct']
    except KeyError:
        @internalcode
        def t_12(*unused):
            raise TemplateRuntimeError("No filter named 'pct' found.")
    try:
        t_13 = environment.filters['rejectattr']
    except KeyError:
        @internalcode
        def t_13(*unused):
            raise TemplateRuntimeError("No filter named 'rejectattr' found.")
    try:
        t_14 = environment.filters['selectattr']
    except KeyError:
        @internalcode
        def t_14(*unused):
            raise TemplateRuntimeError("No filter named 'selectattr' found.")
    try:
        t_15 = environment.filters['sort']
    except KeyError:
        @internalcode
        def t_15(*unused):
            raise TemplateRuntimeError("No filter named 'sort' found.")
    try:
        t_16 = environment.filters['title']
    except KeyError:
        @internalcode
        def t_16(*unused):
            raise TemplateRuntimeError("No filter named 'title' found.")
    try:
        t_17 = environment.filters['utc']
    except KeyError:
        @internalcode
        def t_17(*unused):
            raise TemplateRuntimeError("No filter named 'utc' found.")
    try:
        t_18 = environment.tests['none']
    except KeyError:
        @internalcode
        def t_18(*unused):
            raise TemplateRuntimeError("No test named 'none' found.")
    pass
    def macro(l_1_st, l_1_big):
        t_19 = []
        if l_1_st is missing:
            l_1_st = undefined("parameter 'st' was not provided", name='st')
        if l_1_big is missing:
            l_1_big = False
        pass
        t_19.extend((
            '<span class="badge ',
            escape(environment.getattr(l_1_st, 'cls')),
        ))
        if l_1_big:
            pass
            t_19.append(
                ' big',
            )
        t_19.extend((
            '"><span class="sym" aria-hidden="true">',
            escape(environment.getattr(l_1_st, 'symbol')),
            '</span> ',
            escape(environment.getattr(l_1_st, 'label')),
            '</span>',
        ))
        return concat(t_19)
    context.exported_vars.add('badge')
    context.vars['badge'] = l_0_badge = Macro(environment, macro, 'badge', ('st', 'big'), False, False, False, context.eval_ctx.autoescape)
    def macro(l_1_m):
        t_20 = []
        l_1_s = missing
        if l_1_m is missing:
            l_1_m = undefined("parameter 'm' was not provided", name='m')
        pass
        l_1_s = environment.getattr(l_1_m, 'size')
        if (environment.getattr(l_1_m, 'shape') == 'circle'):
            pass
            t_20.extend((
                '<circle cx="',
                escape(environment.getattr(l_1_m, 'x')),
                '" cy="',
                escape(environment.getattr(l_1_m, 'y')),
                '" r="',
                escape((undefined(name='s') if l_1_s is missing else l_1_s)),
                '" class="',
                escape(environment.getattr(l_1_m, 'cls')),
                '">',
            ))
            if environment.getattr(l_1_m, 'title'):
                pass
                t_20.extend((
                    '<title>',
                    escape(environment.getattr(l_1_m, 'title')),
                    '</title>',
                ))
            t_20.append(
                '</circle>',
            )
        elif (environment.getattr(l_1_m, 'shape') == 'ring'):
            pass
            t_20.extend((
                '<circle cx="',
                escape(environment.getattr(l_1_m, 'x')),
                '" cy="',
                escape(environment.getattr(l_1_m, 'y')),
                '" r="',
                escape((undefined(name='s') if l_1_s is missing else l_1_s)),
                '" class="',
                escape(environment.getattr(l_1_m, 'cls')),
                ' ring">',
            ))
            if environment.getattr(l_1_m, 'title'):
                pass
                t_20.extend((
                    '<title>',
                    escape(environment.getattr(l_1_m, 'title')),
                    '</title>',
                ))
            t_20.append(
                '</circle>',
            )
        elif (environment.getattr(l_1_m, 'shape') == 'square'):
            pass
            t_20.extend((
                '<rect x="',
                escape((environment.getattr(l_1_m, 'x') - (undefined(name='s') if l_1_s is missing else l_1_s))),
                '" y="',
                escape((environment.getattr(l_1_m, 'y') - (undefined(name='s') if l_1_s is missing else l_1_s))),
                '" width="',
                escape((2 * (undefined(name='s') if l_1_s is missing else l_1_s))),
                '" height="',
                escape((2 * (undefined(name='s') if l_1_s is missing else l_1_s))),
                '" class="',
                escape(environment.getattr(l_1_m, 'cls')),
                '">',
            ))
            if environment.getattr(l_1_m, 'title'):
                pass
                t_20.extend((
                    '<title>',
                    escape(environment.getattr(l_1_m, 'title')),
                    '</title>',
                ))
            t_20.append(
                '</rect>',
            )
        elif (environment.getattr(l_1_m, 'shape') == 'diamond'):
            pass
            t_20.extend((
                '<polygon points="',
                escape(environment.getattr(l_1_m, 'x')),
                ',',
                escape((environment.getattr(l_1_m, 'y') - (undefined(name='s') if l_1_s is missing else l_1_s))),
                ' ',
                escape((environment.getattr(l_1_m, 'x') + (undefined(name='s') if l_1_s is missing else l_1_s))),
                ',',
                escape(environment.getattr(l_1_m, 'y')),
                ' ',
                escape(environment.getattr(l_1_m, 'x')),
                ',',
                escape((environment.getattr(l_1_m, 'y') + (undefined(name='s') if l_1_s is missing else l_1_s))),
                ' ',
                escape((environment.getattr(l_1_m, 'x') - (undefined(name='s') if l_1_s is missing else l_1_s))),
                ',',
                escape(environment.getattr(l_1_m, 'y')),
                '" class="',
                escape(environment.getattr(l_1_m, 'cls')),
                '">',
            ))
            if environment.getattr(l_1_m, 'title'):
                pass
                t_20.extend((
                    '<title>',
                    escape(environment.getattr(l_1_m, 'title')),
                    '</title>',
                ))
            t_20.append(
                '</polygon>',
            )
        elif (environment.getattr(l_1_m, 'shape') == 'triangle'):
            pass
            t_20.extend((
                '<polygon points="',
                escape(environment.getattr(l_1_m, 'x')),
                ',',
                escape((environment.getattr(l_1_m, 'y') - ((undefined(name='s') if l_1_s is missing else l_1_s) * 1.2))),
                ' ',
                escape((environment.getattr(l_1_m, 'x') + ((undefined(name='s') if l_1_s is missing else l_1_s) * 1.1))),
                ',',
                escape((environment.getattr(l_1_m, 'y') + ((undefined(name='s') if l_1_s is missing else l_1_s) * 0.8))),
                ' ',
                escape((environment.getattr(l_1_m, 'x') - ((undefined(name='s') if l_1_s is missing else l_1_s) * 1.1))),
                ',',
                escape((environment.getattr(l_1_m, 'y') + ((undefined(name='s') if l_1_s is missing else l_1_s) * 0.8))),
                '" class="',
                escape(environment.getattr(l_1_m, 'cls')),
                '">',
            ))
            if environment.getattr(l_1_m, 'title'):
                pass
                t_20.extend((
                    '<title>',
                    escape(environment.getattr(l_1_m, 'title')),
                    '</title>',
                ))
            t_20.append(
                '</polygon>',
            )
        else:
            pass
            t_20.extend((
                '<path d="M',
                escape((environment.getattr(l_1_m, 'x') - (undefined(name='s') if l_1_s is missing else l_1_s))),
                ',',
                escape((environment.getattr(l_1_m, 'y') - (undefined(name='s') if l_1_s is missing else l_1_s))),
                'L',
                escape((environment.getattr(l_1_m, 'x') + (undefined(name='s') if l_1_s is missing else l_1_s))),
                ',',
                escape((environment.getattr(l_1_m, 'y') + (undefined(name='s') if l_1_s is missing else l_1_s))),
                'M',
                escape((environment.getattr(l_1_m, 'x') + (undefined(name='s') if l_1_s is missing else l_1_s))),
                ',',
                escape((environment.getattr(l_1_m, 'y') - (undefined(name='s') if l_1_s is missing else l_1_s))),
                'L',
                escape((environment.getattr(l_1_m, 'x') - (undefined(name='s') if l_1_s is missing else l_1_s))),
                ',',
                escape((environment.getattr(l_1_m, 'y') + (undefined(name='s') if l_1_s is missing else l_1_s))),
                '" class="',
                escape(environment.getattr(l_1_m, 'cls')),
                ' cross">',
            ))
            if environment.getattr(l_1_m, 'title'):
                pass
                t_20.extend((
                    '<title>',
                    escape(environment.getattr(l_1_m, 'title')),
                    '</title>',
                ))
            t_20.append(
                '</path>',
            )
        return concat(t_20)
    context.exported_vars.add('marker')
    context.vars['marker'] = l_0_marker = Macro(environment, macro, 'marker', ('m',), False, False, False, context.eval_ctx.autoescape)
    def macro(l_1_chart, l_1_extra_class):
        t_21 = []
        if l_1_chart is missing:
            l_1_chart = undefined("parameter 'chart' was not provided", name='chart')
        if l_1_extra_class is missing:
            l_1_extra_class = ''
        pass
        t_21.extend((
            '<svg class="chart ',
            escape(l_1_extra_class),
            '" viewBox="0 0 ',
            escape(environment.getattr(l_1_chart, 'width')),
            ' ',
            escape(environment.getattr(l_1_chart, 'height')),
            '" role="img" aria-label="',
            escape(environment.getattr(l_1_chart, 'label')),
            '" preserveAspectRatio="xMidYMid meet">\n<title>',
            escape(environment.getattr(l_1_chart, 'label')),
            '</title>\n',
        ))
        for l_2_e in environment.getattr(l_1_chart, 'elements'):
            _loop_vars = {}
            pass
            if (environment.getattr(l_2_e, 'kind') == 'rect'):
                pass
                t_21.extend((
                    '<rect x="',
                    escape(environment.getattr(l_2_e, 'x')),
                    '" y="',
                    escape(environment.getattr(l_2_e, 'y')),
                    '" width="',
                    escape(environment.getattr(l_2_e, 'w')),
                    '" height="',
                    escape(environment.getattr(l_2_e, 'h')),
                    '" class="',
                    escape(environment.getattr(l_2_e, 'cls')),
                    '">',
                ))
                if environment.getattr(l_2_e, 'title'):
                    pass
                    t_21.extend((
                        '<title>',
                        escape(environment.getattr(l_2_e, 'title')),
                        '</title>',
                    ))
                t_21.append(
                    '</rect>\n',
                )
            elif (environment.getattr(l_2_e, 'kind') == 'line'):
                pass
                t_21.extend((
                    '<line x1="',
                    escape(environment.getattr(l_2_e, 'x1')),
                    '" y1="',
                    escape(environment.getattr(l_2_e, 'y1')),
                    '" x2="',
                    escape(environment.getattr(l_2_e, 'x2')),
                    '" y2="',
                    escape(environment.getattr(l_2_e, 'y2')),
                    '" class="',
                    escape(environment.getattr(l_2_e, 'cls')),
                    '"/>\n',
                ))
            elif (environment.getattr(l_2_e, 'kind') == 'text'):
                pass
                t_21.extend((
                    '<text x="',
                    escape(environment.getattr(l_2_e, 'x')),
                    '" y="',
                    escape(environment.getattr(l_2_e, 'y')),
                    '" class="',
                    escape(environment.getattr(l_2_e, 'cls')),
                    '" text-anchor="',
                    escape(environment.getattr(l_2_e, 'anchor')),
                    '"',
                ))
                if environment.getattr(l_2_e, 'rotate'):
                    pass
                    t_21.extend((
                        ' transform="rotate(',
                        escape(environment.getattr(l_2_e, 'rotate')),
                        ' ',
                        escape(environment.getattr(l_2_e, 'x')),
                        ' ',
                        escape(environment.getattr(l_2_e, 'y')),
                        ')"',
                    ))
                t_21.extend((
                    '>',
                    escape(environment.getattr(l_2_e, 'text')),
                    '</text>\n',
                ))
            elif (environment.getattr(l_2_e, 'kind') == 'polyline'):
                pass
                t_21.extend((
                    '<polyline points="',
                    escape(environment.getattr(l_2_e, 'points')),
                    '" class="',
                    escape(environment.getattr(l_2_e, 'cls')),
                    '"/>\n',
                ))
            else:
                pass
                t_21.extend((
                    escape(context.call((undefined(name='marker') if l_0_marker is missing else l_0_marker), l_2_e, _loop_vars=_loop_vars)),
                    '\n',
                ))
        l_2_e = missing
        t_21.append(
            '</svg>',
        )
        return concat(t_21)
    context.exported_vars.add('svg')
    context.vars['svg'] = l_0_svg = Macro(environment, macro, 'svg', ('chart', 'extra_class'), False, False, False, context.eval_ctx.autoescape)
    def macro(l_1_c):
        t_22 = []
        l_1_st = missing
        if l_1_c is missing:
            l_1_c = undefined("parameter 'c' was not provided", name='c')
        pass
        l_1_st = environment.getattr(l_1_c, 'status')
        t_22.append(
            '<td class="num',
        )
        if ((undefined(name='st') if l_1_st is missing else l_1_st) and (environment.getattr((undefined(name='st') if l_1_st is missing else l_1_st), 'key') in ('warning', 'breach', 'blind'))):
            pass
            t_22.extend((
                ' flag ',
                escape(environment.getattr((undefined(name='st') if l_1_st is missing else l_1_st), 'cls')),
            ))
        t_22.append(
            '"',
        )
        if (undefined(name='st') if l_1_st is missing else l_1_st):
            pass
            t_22.extend((
                ' data-checks="',
                escape(t_5(context.eval_ctx, environment.getattr(l_1_c, 'checks'), ' ')),
                '" data-level="',
                escape(environment.getattr((undefined(name='st') if l_1_st is missing else l_1_st), 'key')),
                '"',
            ))
        t_22.append(
            '>',
        )
        if ((undefined(name='st') if l_1_st is missing else l_1_st) and (environment.getattr((undefined(name='st') if l_1_st is missing else l_1_st), 'key') in ('warning', 'breach', 'blind'))):
            pass
            t_22.extend((
                '<span class="sym" aria-hidden="true">',
                escape(environment.getattr((undefined(name='st') if l_1_st is missing else l_1_st), 'symbol')),
                '</span> ',
            ))
        t_22.extend((
            escape(environment.getattr(l_1_c, 'value')),
            '</td>',
        ))
        return concat(t_22)
    context.exported_vars.add('cell')
    context.vars['cell'] = l_0_cell = Macro(environment, macro, 'cell', ('c',), False, False, False, context.eval_ctx.autoescape)
    yield '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; style-src \'unsafe-inline\'; img-src data:; script-src \'sha256-'
    yield escape((undefined(name='script_hash') if l_0_script_hash is missing else l_0_script_hash))
    yield '\'; base-uri \'none\'; form-action \'none\'">\n<meta name="viewport" content="width=device-width, initial-scale=1">\n<meta name="generator" content="modelhealth">\n<title>'
    yield escape(environment.getattr((undefined(name='overall') if l_0_overall is missing else l_0_overall), 'label'))
    yield ' · '
    yield escape(environment.getattr((undefined(name='report') if l_0_report is missing else l_0_report), 'register_name'))
    yield ' · '
    yield escape(environment.getattr((undefined(name='report') if l_0_report is missing else l_0_report), 'as_of'))
    yield ' · modelhealth</title>\n<link rel="icon" href="data:,">\n<style>\n:root {\n  --ink: #1b1f24; --muted: #5b6472; --line: #d9dde3; --paper: #ffffff; --bg: #f3f4f6;\n  /* Okabe & Ito (2008) colour-blind-safe palette */\n  --ok: #009E73; --warn: #E69F00; --bad: #D55E00; --blind: #CC79A7; --na: #8c8c8c;\n  --blue: #0072B2; --sky: #56B4E9; --yellow: #F0E442;\n}\n* { box-sizing: border-box; }\nhtml { -webkit-print-color-adjust: exact; print-color-adjust: exact; }\nbody { margin: 0; background: var(--bg); color: var(--ink);\n  font: 14px/1.45 system-ui, "Segoe UI", "DejaVu Sans", "Liberation Sans", Arial, sans-serif; }\ncode, pre, .mono { font-family: ui-monospace, "DejaVu Sans Mono", "Liberation Mono", Menlo, Consolas, monospace; font-size: 12.5px; }\na { color: var(--blue); }\nh1, h2, h3, h4 { margin: 0; line-height: 1.2; }\nh2 { font-size: 20px; }\nh3 { font-size: 15px; margin: 22px 0 8px; color: #2b3340; text-transform: uppercase; letter-spacing: .04em; }\nh4 { font-size: 13px; margin: 0 0 4px; }\n.wrap { max-width: 1200px; margin: 0 auto; padding: 0 24px; }\n.muted { color: var(--muted); }\n.small { font-size: .86em; }\n.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }\n\n/* header */\nheader.top { background: #1d2430; color: #fff; padding: 22px 0 20px; border-bottom: 6px solid var(--na); }\nheader.top.st-healthy { border-bottom-color: var(--ok); }\nheader.top.st-warning { border-bottom-color: var(--warn); }\nheader.top.st-breach { border-bottom-color: var(--bad); }\nheader.top.st-blind { border-bottom-color: var(--blind); }\n.top .row { display: flex; align-items: center; justify-content: space-between; gap: 24px; }\n.top .kicker { font-size: 12px; letter-spacing: .12em; text-transform: uppercase; color: #aeb8c6; }\n.top h1 { font-size: 28px; margin: 4px 0 10px; word-break: break-word; }\n.top dl.meta { display: flex; flex-wrap: wrap; gap: 4px 26px; margin: 0; font-size: 13px; }\n.top dl.meta div { display: flex; gap: 6px; }\n.top dl.meta dt { color: #aeb8c6; }\n.top dl.meta dd { margin: 0; }\n.top .overall { text-align: right; }\n.top .counts { margin-top: 8px; display: flex; gap: 6px; justify-content: flex-end; flex-wrap: wrap; }\n\n/* badges: tinted fill, coloured border, dark text, and a symbol — never colour alone */\n.badge { display: inline-flex; align-items: center; gap: 4px; padding: 1px 8px; border-radius: 999px;\n  border: 1.5px solid var(--na); background: #efefef; color: #3d3d3d; font-weight: 600; font-size: 12px; white-space: nowrap; }\n.badge.big { font-size: 18px; padding: 4px 14px; border-width: 2px; }\n.badge .sym { font-weight: 700; }\n.badge.st-healthy { border-color: var(--ok); background: #e3f4ee; color: #005a41; }\n.badge.st-warning { border-color: var(--warn); background: #fdf1d8; color: #6b4700; }\n.badge.st-breach { border-color: var(--bad); background: #fbe4d7; color: #8a3700; }\n.badge.st-blind { border-color: var(--blind); background: #f8e6f0; color: #7a2c5c; }\n.badge.st-insufficient_data, .badge.st-unknown { border-color: var(--na); background: #efefef; color: #3d3d3d; }\n.tag { display: inline-block; padding: 0 6px; border-radius: 4px; font-size: 11px; font-weight: 700;\n  text-transform: uppercase; letter-spacing: .04em; background: #e8ecf1; color: #374151; }\n.tag.strong { background: #1d2430; color: #fff; }\n\n/* cards */\nmain { padding: 20px 0 40px; }\n.card { background: var(--paper); border: 1px solid var(--line); border-radius: 8px; padding: 18px 20px; margin: 0 0 18px; }\n.card > h2 { margin-bottom: 12px; }\n\n/* tables */\ntable { border-collapse: collapse; width: 100%; }\nth, td { padding: 6px 10px; border-bottom: 1px solid #e7eaee; text-align: left; vertical-align: top; }\nth { font-size: 12px; color: var(--muted); font-weight: 600; background: #f7f8fa; white-space: nowrap; }\nth.num { text-align: right; }\ntbody tr:last-child td { border-bottom: 0; }\ntd.flag { font-weight: 700; }\ntd.flag.st-breach { color: #a54400; }\ntd.flag.st-warning { color: #7a5200; }\ntable.summary td:first-child { min-width: 190px; max-width: 280px; overflow-wrap: anywhere; }\ntable.summary td:first-child a { font-weight: 600; }\ntable.summary td:not(.num) { overflow-wrap: anywhere; }\ntable.summary td:last-child { min-width: 130px; }\ntd.mono, .fm .name, .reco dd, .facts code { overflow-wrap: anywhere; }\n.scroll { overflow-x: auto; }\ntable.summary th, table.summary td { padding: 6px 8px; }\ntable.compact { width: auto; min-width: 60%; }\ntr.row-breach { background: #fff8f4; }\ntr.row-blind { background: #fcf4f8; }\n.id { word-break: break-all; }\n\n/* ingest */\n.stack { display: flex; height: 22px; border-radius: 4px; overflow: hidden; border: 1px solid var(--line); margin: 6px 0 8px; }\n.stack span { display: block; height: 100%; min-width: 0; }\n.seg-used { background: var(--sky); }\n.seg-quarantined { background: var(--bad); }\n.seg-duplicate { background: var(--yellow); }\n.seg-window { background: #b9bec7; }\n.key { display: inline-flex; align-items: center; gap: 6px; margin-right: 16px; font-size: 12.5px; }\n.key i { width: 12px; height: 12px; border-radius: 2px; display: inline-block; border: 1px solid rgba(0,0,0,.2); }\n.facts { display: grid; grid-template-columns: repeat(auto-fill, minmax(170px, 1fr)); gap: 10px; margin: 8px 0; }\n.fact { border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px; }\n.fact b { display: block; font-size: 18px; font-variant-numeric: tabular-nums; }\n.fact span { font-size: 12px; color: var(--muted); }\n.twocol { display: grid; grid-template-columns: 3fr 2fr; gap: 20px; }\n.twocol .facts { grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); align-content: start; }\n\n/* model sections */\nsection.model { border-left: 6px solid var(--na); }\nsection.model.st-healthy { border-left-color: var(--ok); }\nsection.model.st-warning { border-left-color: var(--warn); }\nsection.model.st-breach { border-left-color: var(--bad); }\nsection.model.st-blind { border-left-color: var(--blind); }\n.model-head { display: flex; justify-content: space-between; gap: 16px; align-items: flex-start; border-bottom: 1px solid var(--line); padding-bottom: 12px; }\n.model-head h2 { font-size: 22px; word-break: break-all; }\n.model-head .sub { margin-top: 6px; font-size: 12.5px; color: var(--muted); }\n.model-head .sub span + span::before { content: " · "; }\n.callout { border: 2px solid var(--blind); background: #fcf1f7; border-radius: 6px; padding: 12px 14px; margin: 14px 0 4px; }\n.callout strong { color: #7a2c5c; }\n.notes { margin: 10px 0 0; padding-left: 20px; }\n.tiles { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 10px; margin-top: 14px; }\n.tile { border: 1px solid var(--line); border-top: 4px solid #c9ced6; border-radius: 6px; padding: 8px 10px; }\n.tile.st-healthy { border-top-color: var(--ok); }\n.tile.st-warning { border-top-color: var(--warn); }\n.tile.st-breach { border-top-color: var(--bad); background: #fffaf6; }\n.tile.st-insufficient_data { border-top-color: var(--na); }\n.tile .label { font-size: 12px; color: var(--muted); display: flex; justify-content: space-between; gap: 4px; }\n.tile .value { font-size: 24px; font-weight: 700; font-variant-numeric: tabular-nums; margin: 2px 0; display: flex; justify-content: space-between; align-items: center; gap: 4px; flex-wrap: wrap; }\n.tile .detail { font-size: 11.5px; color: var(--muted); }\n.tile .badge { font-size: 10.5px; padding: 0 6px; }\n\n/* charts */\n.charts { display: grid; grid-template-columns: 1fr 1fr; gap: 20px; }\nfigure { margin: 0; border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; background: #fff; }\nfigcaption { font-size: 12.5px; color: var(--muted); margin-top: 4px; }\nfigure h4 { font-size: 14px; }\nsvg.chart { width: 100%; height: auto; display: block; font-family: inherit; }\nsvg .grid { stroke: #e9ecf0; stroke-width: 1; }\nsvg .axis { stroke: #6b7280; stroke-width: 1; }\nsvg .tick { font-size: 11px; fill: #4b5563; }\nsvg .tick.small { font-size: 10px; }\nsvg .axis-title { font-size: 12px; fill: #1f2937; font-weight: 600; }\nsvg .axis-title.small { font-size: 10px; font-weight: 500; fill: #4b5563; }\nsvg .count { font-size: 8.5px; fill: #374151; }\nsvg .legend { font-size: 11px; fill: #1f2937; }\nsvg .legend-box { fill: #fff; fill-opacity: .92; stroke: #d9dde3; }\nsvg .diagonal { stroke: #6b7280; stroke-width: 1.2; stroke-dasharray: 5 4; }\nsvg .bar-current { fill: var(--sky); fill-opacity: .75; stroke: var(--blue); stroke-width: .6; }\nsvg .bar-current.sparse { fill-opacity: .25; stroke-dasharray: 2 2; }\nsvg .mk-current.sparse, svg .mk-reference.sparse { opacity: .45; }\nsvg .bar-reference { fill: var(--warn); fill-opacity: .65; }\nsvg .line-current { fill: none; stroke: var(--blue); stroke-width: 1.6; }\nsvg .line-reference { fill: none; stroke: #b37a00; stroke-width: 1.4; stroke-dasharray: 4 3; }\nsvg .mk-current { fill: var(--blue); stroke: #fff; stroke-width: 1; }\nsvg .mk-reference { fill: #fff; stroke: #b37a00; stroke-width: 2; }\nsvg .bar-latency { fill: var(--sky); stroke: var(--blue); stroke-width: .5; }\nsvg .vline { stroke-width: 1.6; }\nsvg .vline.pct-p50 { stroke: var(--ok); stroke-dasharray: 2 3; }\nsvg .vline.pct-p95 { stroke: var(--blue); stroke-dasharray: 7 3; }\nsvg .vline.pct-p99 { stroke: var(--blind); stroke-dasharray: 9 3 2 3; }\nsvg .vline.limit { stroke: var(--bad); stroke-width: 2.2; }\nsvg .vlabel { font-size: 10.5px; font-weight: 700; paint-order: stroke; stroke: #fff; stroke-width: 3.5px; stroke-linejoin: round; }\nsvg .vlabel.pct-p50 { fill: #00684c; }\nsvg .vlabel.pct-p95 { fill: var(--blue); }\nsvg .vlabel.pct-p99 { fill: #9a3d77; }\nsvg .vlabel.limit { fill: #a54400; }\nsvg .limit-h { stroke: var(--bad); stroke-width: 1.2; stroke-dasharray: 5 3; }\nsvg .trend-line { fill: none; stroke: #9aa3af; stroke-width: 1.4; }\nsvg .tier-1 { fill: var(--sky); } svg .tier-2 { fill: var(--yellow); stroke: #b3a600; stroke-width: .6; }\nsvg .tier-3 { fill: var(--warn); } svg .tier-4 { fill: var(--bad); }\nsvg .trend-fit { fill: none; stroke: #1d2430; stroke-width: 1.6; stroke-dasharray: 6 3; }\nsvg .bar-duration { fill: var(--sky); stroke: var(--blue); stroke-width: .6; }\nsvg .p90-tick { stroke: #1d2430; stroke-width: 2; }\n.process-figures { display: flex; flex-wrap: wrap; gap: 8px 22px; margin: 4px 0 12px; }\n.process-figures div b { display: block; font-size: 18px; }\n.process-charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(330px, 1fr)); gap: 14px; }\nsvg .mk { stroke: #fff; stroke-width: .8; }\nsvg .mk.st-healthy { fill: var(--ok); }\nsvg .mk.st-warning { fill: var(--warn); }\nsvg .mk.st-breach { fill: var(--bad); }\nsvg .mk.st-blind { fill: none; stroke: var(--blind); stroke-width: 2.2; }\nsvg .mk.st-insufficient_data, svg .mk.st-unknown { fill: #fff; stroke: var(--na); stroke-width: 1.6; }\nsvg .ring { fill: #fff; }\n.placeholder { display: flex; align-items: center; justify-content: center; min-height: 180px; color: var(--muted); border: 1px dashed var(--line); border-radius: 6px; text-align: center; padding: 12px; }\ndetails.bins { margin-top: 6px; font-size: 12px; }\ndetails.bins table td, details.bins table th { padding: 2px 6px; }\n\n/* trends */\n.legend-row { display: flex; flex-wrap: wrap; gap: 12px; align-items: center; font-size: 12px; color: var(--muted); margin-bottom: 8px; }\n.legend-row svg { width: 12px; height: 12px; vertical-align: -2px; }\n.multiples { display: grid; grid-template-columns: repeat(4, 1fr); gap: 12px; }\n.multiples figure { padding: 8px 8px 4px; }\n.multiples .latest { float: right; font-weight: 700; font-variant-numeric: tabular-nums; font-size: 13px; }\nol.nights { list-style: none; display: flex; gap: 3px; padding: 0; margin: 4px 0 10px; flex-wrap: wrap; align-items: center; }\nol.nights li { width: 16px; height: 16px; border-radius: 3px; font-size: 10px; line-height: 16px; text-align: center; color: #fff; font-weight: 700; }\nol.nights li.st-healthy { background: var(--ok); }\nol.nights li.st-warning { background: var(--warn); color: #3b2a00; }\nol.nights li.st-breach { background: var(--bad); }\nol.nights li.st-blind { background: var(--blind); }\nol.nights li.st-insufficient_data, ol.nights li.st-unknown { background: #d4d4d4; color: #333; }\nol.nights .label { width: auto; color: var(--muted); font-weight: 400; font-size: 11.5px; padding: 0 4px; }\n\n/* failure modes */\n.fm { display: grid; grid-template-columns: 230px 1fr 210px; gap: 4px 14px; align-items: center; padding: 8px 0; border-bottom: 1px solid #eef0f3; }\n.fm:last-of-type { border-bottom: 0; }\n.fm .name { font-weight: 600; word-break: break-word; }\n.fm .bar { height: 16px; background: #eef1f5; border-radius: 3px; overflow: hidden; }\n.fm .bar span { display: block; height: 100%; background: #9fb6cc; }\n.fm.background .bar span { background: repeating-linear-gradient(45deg, #c9d2dc 0 4px, #e3e8ee 4px 8px); }\n.fm.dominant .bar span { background: var(--bad); }\n.fm.dominant .name { color: #8a3700; }\n.fm .share { font-variant-numeric: tabular-nums; font-size: 12.5px; }\n.fm .share b { font-size: 15px; }\n.fm ul { grid-column: 1 / -1; margin: 0; padding-left: 18px; color: #374151; font-size: 12.5px; }\n.fm ul li { margin: 1px 0; word-break: break-word; }\n\n/* ladder */\nol.ladder { list-style: none; display: grid; grid-template-columns: repeat(6, 1fr); gap: 0; padding: 0; margin: 8px 0 6px; counter-reset: rung; align-items: end; }\nol.ladder li { position: relative; border: 1.5px solid #b9c0ca; background: #fff; padding: 8px 10px 10px; margin-right: 14px; border-radius: 6px; min-height: 86px; }\nol.ladder li:nth-child(1) { min-height: 66px; } ol.ladder li:nth-child(2) { min-height: 76px; }\nol.ladder li:nth-child(3) { min-height: 86px; } ol.ladder li:nth-child(4) { min-height: 96px; }\nol.ladder li:nth-child(5) { min-height: 106px; } ol.ladder li:nth-child(6) { min-height: 116px; }\nol.ladder li:not(:last-child)::after { content: "›"; position: absolute; right: -13px; bottom: 8px; font-size: 20px; color: #9aa3af; }\nol.ladder .n { font-size: 11px; color: var(--muted); font-weight: 700; }\nol.ladder .t { font-weight: 700; font-size: 13px; display: block; margin: 2px 0 4px; }\nol.ladder .tags { display: flex; flex-wrap: wrap; gap: 3px; }\nol.ladder li.blocked { background: repeating-linear-gradient(135deg, #f4f5f7 0 6px, #e9ebef 6px 12px); color: #7b8391; border-style: dashed; }\nol.ladder li.tried { border-color: #7b8391; }\nol.ladder li.recommended { border: 2.5px solid var(--bad); box-shadow: 0 0 0 3px #fbe4d7; }\nol.ladder li.current { border: 2.5px solid var(--blue); background: #eaf4fb; }\n.tag.t-current { background: var(--blue); color: #fff; }\n.tag.t-recommended { background: var(--bad); color: #fff; }\n.tag.t-tried { background: #6b7280; color: #fff; }\n.tag.t-blocked { background: #d1d5db; color: #374151; }\n\n/* recommendation */\n.reco { border: 1px solid var(--line); border-left: 5px solid var(--blue); border-radius: 6px; padding: 12px 16px; background: #fbfcfe; }\n.reco .summary { font-size: 16px; font-weight: 600; margin: 0 0 10px; word-break: break-word; }\n.reco dl { display: grid; grid-template-columns: 160px 1fr; gap: 4px 12px; margin: 0 0 10px; }\n.reco dt { color: var(--muted); }\n.reco dd { margin: 0; word-break: break-word; }\npre.command { position: relative; background: #1d2430; color: #e6edf3; border-radius: 6px; padding: 10px 70px 10px 12px; margin: 6px 0; white-space: pre-wrap; word-break: break-all; }\npre.command button.copy { position: absolute; right: 8px; top: 7px; font: inherit; font-size: 11px; padding: 2px 8px; border-radius: 4px; border: 1px solid #56606e; background: #2c3543; color: #fff; cursor: pointer; }\nfooter { color: var(--muted); font-size: 12px; padding: 10px 0 30px; }\n\n@media (max-width: 900px) {\n  .charts, .twocol { grid-template-columns: 1fr; }\n  .multiples { grid-template-columns: repeat(2, 1fr); }\n  ol.ladder { grid-template-columns: repeat(3, 1fr); row-gap: 8px; }\n  .fm { grid-template-columns: 1fr; }\n}\n@media print {\n  body { background: #fff; font-size: 11.5px; }\n  .wrap { max-width: none; padding: 0; }\n  header.top { background: #fff; color: var(--ink); border-bottom-width: 4px; padding: 0 0 10px; }\n  .top .kicker, .top dl.meta dt { color: var(--muted); }\n  .card { border: 1px solid #bbb; break-inside: auto; }\n  section.model { break-before: page; }\n  figure, .tile, .fm, ol.ladder, .reco, table.summary tr { break-inside: avoid; }\n  pre.command button.copy { display: none; }\n  a { color: inherit; text-decoration: none; }\n  details.bins:not([open]) { display: none; }\n  .scroll { overflow: visible; }\n  table.summary { font-size: 10px; }\n  table.summary th, table.summary td { padding: 3px 4px; }\n  table.summary td:first-child { min-width: 0; }\n  .top .row { align-items: flex-start; }\n  @page { size: A4 landscape; margin: 10mm; }\n}\n</style>\n</head>\n<body>\n<header class="top '
    yield escape(environment.getattr((undefined(name='overall') if l_0_overall is missing else l_0_overall), 'cls'))
    yield '">\n  <div class="wrap row">\n    <div>\n      <div class="kicker">modelhealth · nightly model health report</div>\n      <h1>'
    yield escape(environment.getattr((undefined(name='report') if l_0_report is missing else l_0_report), 'register_name'))
    yield '</h1>\n      <dl class="meta">\n        <div><dt>Night</dt><dd>'
    yield escape(environment.getattr((undefined(name='report') if l_0_report is missing else l_0_report), 'as_of'))
    yield '</dd></div>\n        <div><dt>Register version</dt><dd class="mono">'
    yield escape(environment.getattr((undefined(name='report') if l_0_report is missing else l_0_report), 'register_version'))
    yield '</dd></div>\n        <div><dt>Run</dt><dd class="mono">'
    yield escape(environment.getattr((undefined(name='report') if l_0_report is missing else l_0_report), 'run_id'))
    yield '</dd></div>\n        <div><dt>Generated</dt><dd>'
    yield escape(t_17(environment.getattr((undefined(name='report') if l_0_report is missing else l_0_report), 'generated_at')))
    yield '</dd></div>\n        <div><dt>Engine</dt><dd>'
    yield escape(environment.getattr((undefined(name='report') if l_0_report is missing else l_0_report), 'engine'))
    yield '</dd></div>\n        <div><dt>Models</dt><dd>'
    yield escape(t_6((undefined(name='views') if l_0_views is missing else l_0_views)))
    yield '</dd></div>\n      </dl>\n    </div>\n    <div class="overall">\n      <div class="kicker">Overall</div>\n      '
    yield escape(context.call((undefined(name='badge') if l_0_badge is missing else l_0_badge), (undefined(name='overall') if l_0_overall is missing else l_0_overall), True))
    yield '\n      <div class="counts">\n'
    for (l_1_st, l_1_n) in (undefined(name='status_counts') if l_0_status_counts is missing else l_0_status_counts):
        _loop_vars = {}
        pass
        yield '<span class="badge '
        yield escape(environment.getattr(l_1_st, 'cls'))
        yield '">'
        yield escape(l_1_n)
        yield ' '
        yield escape(t_8(environment.getattr(l_1_st, 'label')))
        yield '</span>'
    l_1_st = l_1_n = missing
    yield '      </div>\n    </div>\n  </div>\n</header>\n\n<main class="wrap">\n'
    if (environment.getattr((undefined(name='report') if l_0_report is missing else l_0_report), 'outbox') and environment.getattr(environment.getattr((undefined(name='report') if l_0_report is missing else l_0_report), 'outbox'), 'dead')):
        pass
        yield '<div class="callout" role="alert" id="dead-letters"><strong>'
        yield escape(environment.getattr(environment.getattr((undefined(name='report') if l_0_report is missing else l_0_report), 'outbox'), 'dead'))
        yield ' notification'
        yield escape(('s' if (environment.getattr(environment.getattr((undefined(name='report') if l_0_report is missing else l_0_report), 'outbox'), 'dead') != 1) else cond_expr_undefined("the inline if-expression on line 342 in 'report.html.j2' evaluated to false and no else section was defined.")))
        yield ' could not be delivered and '
        yield escape(('were' if (environment.getattr(environment.getattr((undefined(name='report') if l_0_report is missing else l_0_report), 'outbox'), 'dead') != 1) else 'was'))
        yield ' given up'
        if environment.getattr(environment.getattr((undefined(name='report') if l_0_report is missing else l_0_report), 'outbox'), 'oldest_dead_at'):
            pass
            yield ' (the oldest on '
            yield escape(t_17(environment.getattr(environment.getattr((undefined(name='report') if l_0_report is missing else l_0_report), 'outbox'), 'oldest_dead_at')))
            yield ')'
        yield '.</strong>\n  Nobody was told about '
        yield escape(('them' if (environment.getattr(environment.getattr((undefined(name='report') if l_0_report is missing else l_0_report), 'outbox'), 'dead') != 1) else 'it'))
        yield '. List the dead letters with <code>modelhealth ladder outbox --status dead</code>, fix the webhook, and send them again with <code>modelhealth ladder outbox resend --all</code>.</div>\n'
    if environment.getattr((undefined(name='report') if l_0_report is missing else l_0_report), 'partial'):
        pass
        yield '<div class="callout partial"><strong>Partial night.</strong> '
        yield escape(environment.getattr((undefined(name='report') if l_0_report is missing else l_0_report), 'as_of'))
        yield ' had not ended when this report was made ('
        yield escape(t_17(environment.getattr((undefined(name='report') if l_0_report is missing else l_0_report), 'generated_at')))
        yield "): its numbers are provisional and nothing here was recorded as the night's decision. Check it again once the night has ended.</div>\n"
    yield '<section class="card" aria-labelledby="summary-h">\n  <h2 id="summary-h">Models tonight</h2>\n  <div class="scroll">\n  <table class="summary">\n    <thead><tr>\n      <th>Model</th><th>Status</th><th class="num">Crit.</th><th class="num">Rows (labeled)</th>\n      <th class="num">Quality</th><th class="num">Error rate</th>\n      <th class="num">Latency p95</th><th class="num">ECE</th><th>Findings</th><th>Next step</th>\n    </tr></thead>\n    <tbody>\n'
    for l_1_v in (undefined(name='views') if l_0_views is missing else l_0_views):
        l_1_m = missing
        _loop_vars = {}
        pass
        l_1_m = environment.getattr(l_1_v, 'model')
        _loop_vars['m'] = l_1_m
        yield '      <tr class="'
        if (environment.getattr(environment.getattr(l_1_v, 'status'), 'key') == 'breach'):
            pass
            yield 'row-breach'
        elif (environment.getattr(environment.getattr(l_1_v, 'status'), 'key') == 'blind'):
            pass
            yield 'row-blind'
        yield '" data-model="'
        yield escape(environment.getattr((undefined(name='m') if l_1_m is missing else l_1_m), 'model_id'))
        yield '" data-level="'
        yield escape(environment.getattr(environment.getattr(l_1_v, 'status'), 'key'))
        yield '">\n        <td><a href="#'
        yield escape(environment.getattr(l_1_v, 'anchor'))
        yield '">'
        yield escape(environment.getattr((undefined(name='m') if l_1_m is missing else l_1_m), 'model_id'))
        yield '</a></td>\n        <td>'
        yield escape(context.call((undefined(name='badge') if l_0_badge is missing else l_0_badge), environment.getattr(l_1_v, 'status'), _loop_vars=_loop_vars))
        yield '</td>\n        <td class="num">'
        yield escape(environment.getattr((undefined(name='m') if l_1_m is missing else l_1_m), 'criticality'))
        yield '</td>\n        <td class="num">'
        yield escape(t_1(environment.getattr((undefined(name='m') if l_1_m is missing else l_1_m), 'n_rows')))
        yield '<br><span class="muted small">'
        yield escape(t_1(environment.getattr((undefined(name='m') if l_1_m is missing else l_1_m), 'n_labeled')))
        yield '</span></td>\n        '
        yield escape(context.call((undefined(name='cell') if l_0_cell is missing else l_0_cell), environment.getattr(environment.getattr(l_1_v, 'summary_cells'), 'quality'), _loop_vars=_loop_vars))
        yield '\n        '
        yield escape(context.call((undefined(name='cell') if l_0_cell is missing else l_0_cell), environment.getattr(environment.getattr(l_1_v, 'summary_cells'), 'error_rate'), _loop_vars=_loop_vars))
        yield '\n        '
        yield escape(context.call((undefined(name='cell') if l_0_cell is missing else l_0_cell), environment.getattr(environment.getattr(l_1_v, 'summary_cells'), 'p95'), _loop_vars=_loop_vars))
        yield '\n        '
        yield escape(context.call((undefined(name='cell') if l_0_cell is missing else l_0_cell), environment.getattr(environment.getattr(l_1_v, 'summary_cells'), 'ece'), _loop_vars=_loop_vars))
        yield '\n        <td>'
        if environment.getattr(l_1_v, 'findings'):
            pass
            yield escape(environment.getattr(l_1_v, 'findings'))
            yield ' <span class="tag">T'
            yield escape(environment.getattr(l_1_v, 'worst_tier'))
            yield '</span>'
        else:
            pass
            yield '<span class="muted">none</span>'
        if environment.getattr((undefined(name='m') if l_1_m is missing else l_1_m), 'dominant_failure_mode'):
            pass
            yield '<br><span class="small">dominant <b>'
            yield escape(environment.getattr((undefined(name='m') if l_1_m is missing else l_1_m), 'dominant_failure_mode'))
            yield '</b></span>'
        yield '</td>\n        <td>'
        if environment.getattr((undefined(name='m') if l_1_m is missing else l_1_m), 'recommendation'):
            pass
            if environment.getattr(environment.getattr((undefined(name='m') if l_1_m is missing else l_1_m), 'recommendation'), 'rung'):
                pass
                yield escape(t_16(environment.getattr(environment.getattr((undefined(name='m') if l_1_m is missing else l_1_m), 'recommendation'), 'rung')))
            else:
                pass
                yield '<span class="muted">no rung</span>'
            yield '<br><span class="tag">'
            yield escape(environment.getattr(environment.getattr((undefined(name='m') if l_1_m is missing else l_1_m), 'recommendation'), 'status'))
            yield '</span>'
        else:
            pass
            yield '<span class="muted">none</span>'
        yield '</td>\n      </tr>\n'
    l_1_v = l_1_m = missing
    yield '    </tbody>\n  </table>\n  </div>\n</section>\n\n<section class="card" aria-labelledby="ingest-h">\n  <h2 id="ingest-h">Ingest accounting</h2>\n'
    l_0_ing = environment.getattr((undefined(name='report') if l_0_report is missing else l_0_report), 'ingest')
    context.vars['ing'] = l_0_ing
    context.exported_vars.add('ing')
    yield '  <p class="muted small">Every row read is accounted for: read = used + quarantined + duplicates + out of window. Quarantined rows are kept'
    if environment.getattr((undefined(name='ing') if l_0_ing is missing else l_0_ing), 'quarantine_file'):
        pass
        yield ' in <code>'
        yield escape(environment.getattr((undefined(name='ing') if l_0_ing is missing else l_0_ing), 'quarantine_file'))
        yield '</code>'
    yield ' with their reason, never silently dropped.</p>\n  <div class="stack" role="img" aria-label="Where the rows read went">\n'
    for l_1_seg in (undefined(name='ingest_bars') if l_0_ingest_bars is missing else l_0_ingest_bars):
        _loop_vars = {}
        pass
        if environment.getattr(l_1_seg, 'rows'):
            pass
            yield '<span class="'
            yield escape(environment.getattr(l_1_seg, 'cls'))
            yield '" style="width: '
            yield escape(t_4('%.3f', (environment.getattr(l_1_seg, 'share') * 100)))
            yield '%" title="'
            yield escape(environment.getattr(l_1_seg, 'label'))
            yield ': '
            yield escape(t_1(environment.getattr(l_1_seg, 'rows')))
            yield '"></span>'
    l_1_seg = missing
    yield '  </div>\n  <div>'
    for l_1_seg in (undefined(name='ingest_bars') if l_0_ingest_bars is missing else l_0_ingest_bars):
        _loop_vars = {}
        pass
        yield '<span class="key"><i class="'
        yield escape(environment.getattr(l_1_seg, 'cls'))
        yield '"></i>'
        yield escape(environment.getattr(l_1_seg, 'label'))
        yield ' '
        yield escape(t_1(environment.getattr(l_1_seg, 'rows')))
        yield ' ('
        yield escape(t_12(environment.getattr(l_1_seg, 'share')))
        yield ')</span>'
    l_1_seg = missing
    yield '</div>\n  <div class="twocol">\n    <div class="facts">\n      <div class="fact"><b>'
    yield escape(t_1(environment.getattr((undefined(name='ing') if l_0_ing is missing else l_0_ing), 'rows_read')))
    yield '</b><span>rows read from '
    yield escape(t_6(environment.getattr((undefined(name='ing') if l_0_ing is missing else l_0_ing), 'files')))
    yield ' file'
    yield escape(('' if (t_6(environment.getattr((undefined(name='ing') if l_0_ing is missing else l_0_ing), 'files')) == 1) else 's'))
    yield '</span></div>\n      <div class="fact"><b>'
    yield escape(t_1(environment.getattr((undefined(name='ing') if l_0_ing is missing else l_0_ing), 'rows_used')))
    yield '</b><span>rows used</span></div>\n      <div class="fact"><b>'
    yield escape(t_1(environment.getattr((undefined(name='ing') if l_0_ing is missing else l_0_ing), 'rows_quarantined')))
    yield '</b><span>quarantined</span></div>\n      <div class="fact"><b>'
    yield escape(t_1(environment.getattr((undefined(name='ing') if l_0_ing is missing else l_0_ing), 'rows_duplicate')))
    yield '</b><span>duplicates dropped</span></div>\n      <div class="fact"><b>'
    yield escape(t_1(environment.getattr((undefined(name='ing') if l_0_ing is missing else l_0_ing), 'rows_out_of_window')))
    yield '</b><span>outside both windows</span></div>\n      <div class="fact"><b>'
    yield escape(t_1(environment.getattr((undefined(name='ing') if l_0_ing is missing else l_0_ing), 'naive_timestamps')))
    yield '</b><span>naive timestamps read as UTC</span></div>\n'
    if environment.getattr((undefined(name='ing') if l_0_ing is missing else l_0_ing), 'labels_file'):
        pass
        yield '<div class="fact"><b>'
        yield escape(t_1(environment.getattr((undefined(name='ing') if l_0_ing is missing else l_0_ing), 'labels_joined')))
        yield '</b><span>labels joined from <code>'
        yield escape(environment.getattr((undefined(name='ing') if l_0_ing is missing else l_0_ing), 'labels_file'))
        yield '</code></span></div>'
    yield '    </div>\n    <div>\n      <h4>Quarantined by reason</h4>\n'
    if environment.getattr((undefined(name='ing') if l_0_ing is missing else l_0_ing), 'quarantined_by_reason'):
        pass
        yield '      <table>\n        <thead><tr><th>Reason</th><th class="num">Rows</th></tr></thead>\n        <tbody>'
        for (l_1_reason, l_1_n) in t_2(environment.getattr((undefined(name='ing') if l_0_ing is missing else l_0_ing), 'quarantined_by_reason'), by='value', reverse=True):
            _loop_vars = {}
            pass
            yield '<tr><td>'
            yield escape(l_1_reason)
            yield '</td><td class="num">'
            yield escape(t_1(l_1_n))
            yield '</td></tr>'
        l_1_reason = l_1_n = missing
        yield '</tbody>\n      </table>\n'
    else:
        pass
        yield '<p class="muted">No row was quarantined.</p>'
    if environment.getattr((undefined(name='ing') if l_0_ing is missing else l_0_ing), 'unreadable'):
        pass
        yield '      <h4 style="margin-top: 10px">Unreadable inputs</h4>\n      <ul>'
        for l_1_f in environment.getattr((undefined(name='ing') if l_0_ing is missing else l_0_ing), 'unreadable'):
            _loop_vars = {}
            pass
            yield '<li><code>'
            yield escape(l_1_f)
            yield '</code></li>'
        l_1_f = missing
        yield '</ul>\n'
    if environment.getattr((undefined(name='ing') if l_0_ing is missing else l_0_ing), 'files'):
        pass
        yield '      <details class="bins"><summary>'
        yield escape(t_6(environment.getattr((undefined(name='ing') if l_0_ing is missing else l_0_ing), 'files')))
        yield ' input file'
        yield escape(('' if (t_6(environment.getattr((undefined(name='ing') if l_0_ing is missing else l_0_ing), 'files')) == 1) else 's'))
        yield '</summary>\n        <ul>'
        for l_1_f in environment.getattr((undefined(name='ing') if l_0_ing is missing else l_0_ing), 'files'):
            _loop_vars = {}
            pass
            yield '<li><code>'
            yield escape(l_1_f)
            yield '</code></li>'
        l_1_f = missing
        yield '</ul>\n      </details>\n'
    yield '    </div>\n  </div>\n</section>\n\n'
    if (undefined(name='process') if l_0_process is missing else l_0_process):
        pass
        yield '<section class="card" id="ladder-process" aria-labelledby="process-h">\n  <h2 id="process-h">Escalation ladder: the process</h2>\n  <p class="muted small">Every escalation in the state store, as <code>modelhealth ladder stats</code> measures it. Reviews and step-downs are the review cycle, not incidents, and are not counted.</p>\n  <div class="process-figures">'
        for (l_1_label, l_1_value) in environment.getattr((undefined(name='process') if l_0_process is missing else l_0_process), 'figures'):
            _loop_vars = {}
            pass
            yield '<div><span class="muted small">'
            yield escape(l_1_label)
            yield '</span><b>'
            yield escape(l_1_value)
            yield '</b></div>'
        l_1_label = l_1_value = missing
        yield '</div>\n  <div class="process-charts">\n    <figure id="process-weekly"><h4>Escalations per week, by tier</h4>'
        if environment.getattr((undefined(name='process') if l_0_process is missing else l_0_process), 'weekly'):
            pass
            yield escape(context.call((undefined(name='svg') if l_0_svg is missing else l_0_svg), environment.getattr((undefined(name='process') if l_0_process is missing else l_0_process), 'weekly')))
        else:
            pass
            yield '<div class="placeholder">No escalation yet.</div>'
        yield '</figure>\n    <figure id="process-durations"><h4>How long each stage takes</h4>'
        if environment.getattr((undefined(name='process') if l_0_process is missing else l_0_process), 'durations'):
            pass
            yield escape(context.call((undefined(name='svg') if l_0_svg is missing else l_0_svg), environment.getattr((undefined(name='process') if l_0_process is missing else l_0_process), 'durations')))
        else:
            pass
            yield '<div class="placeholder">No stage measured yet.</div>'
        yield '</figure>\n    <figure id="process-misses"><h4>SLA misses by tier</h4>'
        yield escape(context.call((undefined(name='svg') if l_0_svg is missing else l_0_svg), environment.getattr((undefined(name='process') if l_0_process is missing else l_0_process), 'misses')))
        yield '</figure>\n  </div>\n</section>\n'
    yield '\n'
    l_1_loop = missing
    for l_1_v, l_1_loop in LoopContext((undefined(name='views') if l_0_views is missing else l_0_views), undefined):
        l_1_cov = resolve('cov')
        l_1_status = resolve('status')
        l_1_money = resolve('money')
        l_1_legend_statuses = resolve('legend_statuses')
        l_1_cal = resolve('cal')
        l_1_ref = resolve('ref')
        l_1_lat = resolve('lat')
        l_1_d = resolve('d')
        l_1_nd = resolve('nd')
        l_1_m = l_1_r = missing
        _loop_vars = {}
        pass
        l_1_m = environment.getattr(l_1_v, 'model')
        _loop_vars['m'] = l_1_m
        yield '<section class="card model '
        yield escape(environment.getattr(environment.getattr(l_1_v, 'status'), 'cls'))
        yield '" id="'
        yield escape(environment.getattr(l_1_v, 'anchor'))
        yield '" aria-labelledby="'
        yield escape(environment.getattr(l_1_v, 'anchor'))
        yield '-h" data-model="'
        yield escape(environment.getattr((undefined(name='m') if l_1_m is missing else l_1_m), 'model_id'))
        yield '" data-level="'
        yield escape(environment.getattr(environment.getattr(l_1_v, 'status'), 'key'))
        yield '">\n  <div class="model-head">\n    <div>\n      <h2 id="'
        yield escape(environment.getattr(l_1_v, 'anchor'))
        yield '-h">'
        yield escape(environment.getattr((undefined(name='m') if l_1_m is missing else l_1_m), 'model_id'))
        yield '</h2>\n      <div class="sub">\n        <span>window '
        yield escape(t_17(environment.getattr(environment.getattr((undefined(name='m') if l_1_m is missing else l_1_m), 'window'), 'start')))
        yield ' → '
        yield escape(t_17(environment.getattr(environment.getattr((undefined(name='m') if l_1_m is missing else l_1_m), 'window'), 'end')))
        yield '</span>\n        <span>reference '
        yield escape(t_17(environment.getattr(environment.getattr((undefined(name='m') if l_1_m is missing else l_1_m), 'reference_window'), 'start')))
        yield ' → '
        yield escape(t_17(environment.getattr(environment.getattr((undefined(name='m') if l_1_m is missing else l_1_m), 'reference_window'), 'end')))
        yield '</span>\n        <span>criticality '
        yield escape(environment.getattr((undefined(name='m') if l_1_m is missing else l_1_m), 'criticality'))
        yield '</span>\n      </div>\n    </div>\n    <div>'
        yield escape(context.call((undefined(name='badge') if l_0_badge is missing else l_0_badge), environment.getattr(l_1_v, 'status'), True, _loop_vars=_loop_vars))
        yield '</div>\n  </div>\n\n'
        if (environment.getattr(environment.getattr(l_1_v, 'status'), 'key') == 'blind'):
            pass
            yield '  <div class="callout"><strong>Blind: the monitor saw no rows for this model in tonight\'s window.</strong>\n    A monitor that cannot see never reports healthy, so this escalates like a breach. Check that the model still logs, that its logs reach the monitored location, and that its <code>model_id</code> matches the register.</div>\n'
        if environment.getattr((undefined(name='m') if l_1_m is missing else l_1_m), 'rerun'):
            pass
            yield '  <div class="callout rerun"><strong>'
            if (environment.getattr(environment.getattr((undefined(name='m') if l_1_m is missing else l_1_m), 'rerun'), 'outcome') == 'stands'):
                pass
                yield 'This rerun differs from the night already decided: the decision taken then stands.'
            else:
                pass
                yield 'This night was redecided: the earlier decision is superseded.'
            yield '</strong> '
            yield escape(environment.getattr(environment.getattr((undefined(name='m') if l_1_m is missing else l_1_m), 'rerun'), 'message'))
            yield '</div>\n'
        if ((environment.getattr(environment.getattr(l_1_v, 'status'), 'key') != 'blind') and (environment.getattr((undefined(name='m') if l_1_m is missing else l_1_m), 'quality_basis') in ('estimated', 'none'))):
            pass
            l_1_cov = t_3(environment, t_14(context, environment.getattr(environment.getattr(l_1_v, 'model'), 'checks'), 'threshold', 'equalto', 'labels.coverage'))
            _loop_vars['cov'] = l_1_cov
            yield '  <div class="callout"><strong>Quality '
            if ((undefined(name='cov') if l_1_cov is missing else l_1_cov) and (environment.getattr((undefined(name='cov') if l_1_cov is missing else l_1_cov), 'status') == 'blind')):
                pass
                yield 'is blind'
            else:
                pass
                yield 'is not measured yet'
            yield ': '
            yield escape((environment.getattr((undefined(name='cov') if l_1_cov is missing else l_1_cov), 'note') if ((undefined(name='cov') if l_1_cov is missing else l_1_cov) and environment.getattr((undefined(name='cov') if l_1_cov is missing else l_1_cov), 'note')) else 'too few labels tonight'))
            yield '.</strong>\n'
            if (environment.getattr((undefined(name='m') if l_1_m is missing else l_1_m), 'quality_basis') == 'estimated'):
                pass
                yield "The quality shown is <b>estimated</b> from tonight's confidences through the reference window's reliability (CBPE), not measured; it cannot see a model that got worse with unchanged confidences."
            else:
                pass
                yield 'No estimate either: the reference window has too few labeled rows.'
            if ((undefined(name='cov') if l_1_cov is missing else l_1_cov) and (environment.getattr((undefined(name='cov') if l_1_cov is missing else l_1_cov), 'status') == 'blind')):
                pass
                yield 'A monitor that cannot see never reports healthy: this escalates the first night at the highest priority. Late labels (<code>modelhealth check --labels …</code>) re-judge the night.'
            yield '</div>\n'
        if environment.getattr((undefined(name='m') if l_1_m is missing else l_1_m), 'notes'):
            pass
            yield '<ul class="notes">'
            for l_2_note in environment.getattr((undefined(name='m') if l_1_m is missing else l_1_m), 'notes'):
                _loop_vars = {}
                pass
                yield '<li>'
                yield escape(l_2_note)
                yield '</li>'
            l_2_note = missing
            yield '</ul>'
        yield '\n'
        if environment.getattr(l_1_v, 'tiles'):
            pass
            yield '  <div class="tiles">\n'
            for l_2_t in environment.getattr(l_1_v, 'tiles'):
                _loop_vars = {}
                pass
                yield '    <div class="tile '
                yield escape((environment.getattr(environment.getattr(l_2_t, 'status'), 'cls') if environment.getattr(l_2_t, 'status') else ''))
                yield '"'
                if environment.getattr(l_2_t, 'status'):
                    pass
                    yield ' data-checks="'
                    yield escape(t_5(context.eval_ctx, environment.getattr(l_2_t, 'checks'), ' '))
                    yield '" data-level="'
                    yield escape(environment.getattr(environment.getattr(l_2_t, 'status'), 'key'))
                    yield '"'
                yield '>\n      <div class="label">'
                yield escape(environment.getattr(l_2_t, 'label'))
                yield '</div>\n      <div class="value"><span>'
                yield escape(environment.getattr(l_2_t, 'value'))
                yield '</span>'
                if ((environment.getattr(l_2_t, 'status') and (environment.getattr(environment.getattr(l_2_t, 'status'), 'key') != 'healthy')) and (environment.getattr(environment.getattr(l_2_t, 'status'), 'key') != 'ok')):
                    pass
                    yield escape(context.call((undefined(name='badge') if l_0_badge is missing else l_0_badge), environment.getattr(l_2_t, 'status'), _loop_vars=_loop_vars))
                yield '</div>\n      <div class="detail">'
                yield escape(environment.getattr(l_2_t, 'detail'))
                if (environment.getattr(l_2_t, 'status') and (environment.getattr(environment.getattr(l_2_t, 'status'), 'key') not in ('healthy', 'ok'))):
                    pass
                    yield ' · <span class="mono">'
                    yield escape(environment.getattr(l_2_t, 'worst'))
                    yield '</span>'
                yield '</div>\n    </div>\n'
            l_2_t = missing
            yield '  </div>\n'
        yield '\n  <h3>Findings</h3>\n'
        if environment.getattr(l_1_v, 'breaches'):
            pass
            yield '  <table class="breaches">\n    <thead><tr><th>Threshold</th><th>Level</th><th class="num">Observed</th><th class="num">Limit</th><th class="num">Interval [low, high]</th><th class="num">n</th><th class="num">Tier</th></tr></thead>\n    <tbody>\n'
            for l_2_b in environment.getattr(l_1_v, 'breaches'):
                _loop_vars = {}
                pass
                yield '      <tr data-check="'
                yield escape(environment.getattr(l_2_b, 'threshold'))
                yield '" data-level="'
                yield escape(environment.getattr(environment.getattr(l_2_b, 'status'), 'key'))
                yield '"><td class="mono">'
                yield escape(environment.getattr(l_2_b, 'threshold'))
                yield '</td><td>'
                yield escape(context.call((undefined(name='badge') if l_0_badge is missing else l_0_badge), environment.getattr(l_2_b, 'status'), _loop_vars=_loop_vars))
                yield '</td><td class="num">'
                yield escape(environment.getattr(l_2_b, 'observed'))
                yield '</td><td class="num">'
                yield escape(environment.getattr(l_2_b, 'limit'))
                yield '</td><td class="num">'
                yield escape(environment.getattr(l_2_b, 'interval'))
                yield '</td><td class="num">'
                yield escape(environment.getattr(l_2_b, 'n'))
                yield '</td><td class="num"><b>'
                yield escape(environment.getattr(l_2_b, 'tier'))
                yield '</b></td></tr>\n'
            l_2_b = missing
            yield '    </tbody>\n  </table>\n'
            if t_7(context.eval_ctx, t_13(context, environment.getattr(l_1_v, 'breaches'), 'threshold', 'equalto', 'blind')):
                pass
                yield '  <p class="muted small">A <b>breach</b> is an interval entirely beyond its limit; a <b>warning</b> is a point estimate beyond it with an interval that straddles it. Tier 1 (operational) … 4 (critical) sets the SLA clocks.</p>\n'
        else:
            pass
            yield '  <p>'
            yield escape(context.call((undefined(name='badge') if l_0_badge is missing else l_0_badge), context.call((undefined(name='status') if l_1_status is missing else l_1_status), 'healthy', _loop_vars=_loop_vars), _loop_vars=_loop_vars))
            yield ' No threshold is breached or at warning.</p>\n'
        if environment.getattr(l_1_v, 'checks'):
            pass
            yield '  <details class="bins"><summary>All '
            yield escape(t_6(environment.getattr(l_1_v, 'checks')))
            yield ' checks</summary>\n    <table>\n      <thead><tr><th>Threshold</th><th>Status</th><th class="num">Observed</th><th class="num">Limit</th><th class="num">Interval</th><th class="num">n</th><th class="num">Tier</th></tr></thead>\n      <tbody>'
            for l_2_c in environment.getattr(l_1_v, 'checks'):
                _loop_vars = {}
                pass
                yield '<tr data-check="'
                yield escape(environment.getattr(l_2_c, 'threshold'))
                yield '" data-level="'
                yield escape(environment.getattr(environment.getattr(l_2_c, 'status'), 'key'))
                yield '"><td class="mono">'
                yield escape(environment.getattr(l_2_c, 'threshold'))
                yield '</td><td>'
                yield escape(context.call((undefined(name='badge') if l_0_badge is missing else l_0_badge), environment.getattr(l_2_c, 'status'), _loop_vars=_loop_vars))
                if environment.getattr(l_2_c, 'supports'):
                    pass
                    yield ' <span class="muted" title="significant at the support level: counts towards the persistence rule if this check breaches on another night of the window">supports persistence</span>'
                yield '</td><td class="num">'
                yield escape(environment.getattr(l_2_c, 'observed'))
                yield '</td><td class="num">'
                yield escape(environment.getattr(l_2_c, 'limit'))
                yield '</td><td class="num">'
                yield escape(environment.getattr(l_2_c, 'interval'))
                yield '</td><td class="num">'
                yield escape(environment.getattr(l_2_c, 'n'))
                yield '</td><td class="num">'
                yield escape(environment.getattr(l_2_c, 'tier'))
                yield '</td></tr>'
            l_2_c = missing
            yield '</tbody>\n    </table>\n  </details>\n'
        yield '\n'
        if (environment.getattr(l_1_v, 'failure_modes') or environment.getattr((undefined(name='m') if l_1_m is missing else l_1_m), 'unmapped_annotations')):
            pass
            if environment.getattr(l_1_v, 'background'):
                pass
                yield '  <h3>Background failures</h3>\n  <p class="small muted">No finding tonight: these are the healthy model\'s everyday failures, by mode, listed for context. They are <b>not a diagnosis</b> and nothing acts on them. Annotation coverage: <b>'
                yield escape(t_12(environment.getattr((undefined(name='m') if l_1_m is missing else l_1_m), 'annotation_coverage')))
                yield '</b>.</p>\n'
            else:
                pass
                yield '  <h3>Failure modes</h3>\n  <p class="small muted">Annotation coverage: <b>'
                yield escape(t_12(environment.getattr((undefined(name='m') if l_1_m is missing else l_1_m), 'annotation_coverage')))
                yield '</b>'
                if environment.getattr((undefined(name='m') if l_1_m is missing else l_1_m), 'dominant_failure_mode'):
                    pass
                    yield ' · dominant mode <b>'
                    yield escape(environment.getattr((undefined(name='m') if l_1_m is missing else l_1_m), 'dominant_failure_mode'))
                    yield "</b> decides the ladder's rung"
                yield '.</p>\n'
            for l_2_f in environment.getattr(l_1_v, 'failure_modes'):
                _loop_vars = {}
                pass
                yield '  <div class="fm'
                yield escape((' dominant' if environment.getattr(l_2_f, 'dominant') else ''))
                yield escape((' background' if environment.getattr(l_1_v, 'background') else ''))
                yield '">\n    <div class="name">'
                yield escape(environment.getattr(l_2_f, 'mode'))
                if environment.getattr(l_2_f, 'direction'):
                    pass
                    yield ' <span class="tag">'
                    yield escape(environment.getattr(l_2_f, 'direction'))
                    yield '</span>'
                if environment.getattr(l_2_f, 'dominant'):
                    pass
                    yield ' <span class="tag t-recommended">dominant</span>'
                if environment.getattr(l_1_v, 'background'):
                    pass
                    yield ' <span class="tag">background</span>'
                yield '</div>\n    <div class="bar" role="img" aria-label="'
                yield escape(environment.getattr(l_2_f, 'share_text'))
                yield ' of '
                yield escape(('background ' if environment.getattr(l_1_v, 'background') else ''))
                yield 'failures"><span style="width: '
                yield escape(t_4('%.2f', (environment.getattr(l_2_f, 'share') * 100)))
                yield '%"></span></div>\n    <div class="share"><b>'
                yield escape(environment.getattr(l_2_f, 'share_text'))
                yield '</b> · '
                yield escape(environment.getattr(l_2_f, 'count'))
                yield ' rows · conf. '
                yield escape(environment.getattr(l_2_f, 'confidence'))
                yield '</div>\n'
                if (environment.getattr(l_2_f, 'evidence') or environment.getattr(l_2_f, 'segment')):
                    pass
                    yield '    <ul>\n'
                    if environment.getattr(l_2_f, 'segment'):
                        pass
                        yield '<li>Concentrated in segment <b>'
                        yield escape(environment.getattr(l_2_f, 'segment'))
                        yield '</b></li>'
                    for l_3_e in environment.getattr(l_2_f, 'evidence'):
                        _loop_vars = {}
                        pass
                        yield '<li>'
                        yield escape(l_3_e)
                        yield '</li>'
                    l_3_e = missing
                    yield '    </ul>\n'
                yield '  </div>\n'
            l_2_f = missing
            if environment.getattr((undefined(name='m') if l_1_m is missing else l_1_m), 'unmapped_annotations'):
                pass
                yield '  <p class="small">Annotations outside the taxonomy: '
                l_2_loop = missing
                for (l_2_name, l_2_n), l_2_loop in LoopContext(t_2(environment.getattr((undefined(name='m') if l_1_m is missing else l_1_m), 'unmapped_annotations')), undefined):
                    _loop_vars = {}
                    pass
                    yield '<code>'
                    yield escape(l_2_name)
                    yield '</code> ('
                    yield escape(t_1(l_2_n))
                    yield ')'
                    if (not environment.getattr(l_2_loop, 'last')):
                        pass
                        yield ', '
                l_2_loop = l_2_name = l_2_n = missing
                yield '</p>\n'
        yield '\n'
        if ((not environment.getattr(l_1_v, 'failure_modes')) and (environment.getattr(environment.getattr(l_1_v, 'status'), 'key') != 'blind')):
            pass
            yield '<p class="small muted">No failure mode identified tonight'
            if (not t_18(environment.getattr((undefined(name='m') if l_1_m is missing else l_1_m), 'annotation_coverage'))):
                pass
                yield ' · annotation coverage '
                yield escape(t_12(environment.getattr((undefined(name='m') if l_1_m is missing else l_1_m), 'annotation_coverage')))
            yield '.</p>'
        yield '\n  <h3>Recommendation</h3>\n'
        l_1_r = environment.getattr((undefined(name='m') if l_1_m is missing else l_1_m), 'recommendation')
        _loop_vars['r'] = l_1_r
        if (undefined(name='r') if l_1_r is missing else l_1_r):
            pass
            yield '  <div class="reco">\n    <p class="summary">'
            yield escape(environment.getattr((undefined(name='r') if l_1_r is missing else l_1_r), 'summary'))
            yield '</p>\n    <dl>\n      <dt>Rung</dt><dd>'
            if environment.getattr((undefined(name='r') if l_1_r is missing else l_1_r), 'rung'):
                pass
                yield '<b>'
                yield escape(t_16(environment.getattr((undefined(name='r') if l_1_r is missing else l_1_r), 'rung')))
                yield '</b> <span class="mono muted">'
                yield escape(environment.getattr((undefined(name='r') if l_1_r is missing else l_1_r), 'rung'))
                yield '</span>'
            else:
                pass
                yield '—'
            yield '</dd>\n      <dt>Status</dt><dd><span class="tag strong">'
            yield escape(environment.getattr((undefined(name='r') if l_1_r is missing else l_1_r), 'status'))
            yield '</span></dd>\n      <dt>Severity tier</dt><dd>T'
            yield escape(environment.getattr((undefined(name='r') if l_1_r is missing else l_1_r), 'tier'))
            yield '</dd>\n      <dt>Estimated cost</dt><dd>'
            yield escape(context.call((undefined(name='money') if l_1_money is missing else l_1_money), environment.getattr((undefined(name='r') if l_1_r is missing else l_1_r), 'estimated_cost'), environment.getattr((undefined(name='r') if l_1_r is missing else l_1_r), 'currency'), _loop_vars=_loop_vars))
            yield '</dd>\n      <dt>Approvals required</dt><dd>'
            yield escape(environment.getattr((undefined(name='r') if l_1_r is missing else l_1_r), 'approvals_required'))
            yield '</dd>\n      <dt>Approvers</dt><dd>'
            if environment.getattr((undefined(name='r') if l_1_r is missing else l_1_r), 'approvers'):
                pass
                yield escape(t_5(context.eval_ctx, environment.getattr((undefined(name='r') if l_1_r is missing else l_1_r), 'approvers'), ', '))
            else:
                pass
                yield '—'
            yield '</dd>\n      <dt>Decision due</dt><dd>'
            yield escape(t_17(environment.getattr((undefined(name='r') if l_1_r is missing else l_1_r), 'due_at')))
            yield '</dd>\n      <dt>Reason</dt><dd>'
            yield escape((environment.getattr((undefined(name='r') if l_1_r is missing else l_1_r), 'reason') or '—'))
            yield '</dd>\n      <dt>Recommendation id</dt><dd class="mono">'
            yield escape(environment.getattr((undefined(name='r') if l_1_r is missing else l_1_r), 'id'))
            yield '</dd>\n    </dl>\n'
            if environment.getattr((undefined(name='r') if l_1_r is missing else l_1_r), 'commands'):
                pass
                yield '    <h4>Decide from a terminal</h4>\n'
                for l_2_cmd in environment.getattr((undefined(name='r') if l_1_r is missing else l_1_r), 'commands'):
                    _loop_vars = {}
                    pass
                    yield '<pre class="command"><code>'
                    yield escape(l_2_cmd)
                    yield '</code></pre>'
                l_2_cmd = missing
            yield '  </div>\n'
        else:
            pass
            yield '  <p class="muted">No ladder step is recommended for this model tonight.</p>\n'
        yield '\n  <h3>Escalation ladder</h3>\n  <ol class="ladder" aria-label="Escalation ladder, cheapest rung first">\n'
        for l_2_s in environment.getattr(l_1_v, 'ladder'):
            _loop_vars = {}
            pass
            yield '    <li class="'
            yield escape(('blocked' if (not environment.getattr(l_2_s, 'allowed')) else ''))
            yield escape((' tried' if environment.getattr(l_2_s, 'tried') else ''))
            yield escape((' current' if environment.getattr(l_2_s, 'current') else ''))
            yield escape((' recommended' if environment.getattr(l_2_s, 'recommended') else ''))
            yield '" data-rung="'
            yield escape(environment.getattr(l_2_s, 'rung'))
            yield '">\n      <span class="n">RUNG '
            yield escape(environment.getattr(l_2_s, 'index'))
            yield '</span>\n      <span class="t">'
            yield escape(environment.getattr(l_2_s, 'title'))
            yield '</span>\n      <span class="tags">\n'
            if environment.getattr(l_2_s, 'current'):
                pass
                yield '<span class="tag t-current">▲ current</span>'
            if environment.getattr(l_2_s, 'recommended'):
                pass
                yield '<span class="tag t-recommended">→ recommended</span>'
            if environment.getattr(l_2_s, 'tried'):
                pass
                yield '<span class="tag t-tried">tried</span>'
            if (not environment.getattr(l_2_s, 'allowed')):
                pass
                yield '<span class="tag t-blocked">not allowed</span>'
            yield '      </span>\n    </li>\n'
        l_2_s = missing
        yield '  </ol>\n  <p class="muted small">'
        if (not environment.getattr(l_1_v, 'ladder_supplied')):
            pass
            yield 'Allowed and tried rungs were not supplied to this report; showing the default ladder. '
        if (not t_7(context.eval_ctx, t_14(context, environment.getattr(l_1_v, 'ladder'), 'current'))):
            pass
            yield 'The model is not on any rung.'
        yield '</p>\n\n  <h3>Trends over past nights</h3>\n'
        if environment.getattr(l_1_v, 'nights'):
            pass
            yield '  <ol class="nights" aria-label="Status by night">\n    <li class="label">'
            yield escape(environment.getitem(environment.getitem(environment.getattr(l_1_v, 'nights'), 0), 0))
            yield '</li>\n'
            for (l_2_night, l_2_st) in environment.getattr(l_1_v, 'nights'):
                _loop_vars = {}
                pass
                yield '<li class="'
                yield escape(environment.getattr(l_2_st, 'cls'))
                yield '" title="'
                yield escape(l_2_night)
                yield ': '
                yield escape(environment.getattr(l_2_st, 'label'))
                yield '"><span aria-hidden="true">'
                yield escape(environment.getattr(l_2_st, 'symbol'))
                yield '</span></li>'
            l_2_night = l_2_st = missing
            yield '    <li class="label">'
            yield escape(environment.getitem(environment.getitem(environment.getattr(l_1_v, 'nights'), -1), 0))
            yield '</li>\n  </ol>\n  <div class="legend-row">\n'
            for l_2_st in (undefined(name='legend_statuses') if l_1_legend_statuses is missing else l_1_legend_statuses):
                _loop_vars = {}
                pass
                yield '<span><svg viewBox="-6 -6 12 12" aria-hidden="true">'
                yield escape(context.call((undefined(name='marker') if l_0_marker is missing else l_0_marker), {'x': 0, 'y': 0, 'shape': environment.getattr(l_2_st, 'shape'), 'cls': markup_join(('mk ', environment.getattr(l_2_st, 'cls'), )), 'size': 4, 'title': ''}, _loop_vars=_loop_vars))
                yield '</svg> '
                yield escape(environment.getattr(l_2_st, 'label'))
                yield '</span>'
            l_2_st = missing
            yield '    <span><svg viewBox="0 0 12 12" aria-hidden="true"><line x1="0" y1="6" x2="12" y2="6" style="stroke: #D55E00; stroke-width: 1.5; stroke-dasharray: 3 2"/></svg> register limit</span>\n  </div>\n  <div class="multiples">\n'
            for l_2_p in environment.getattr(l_1_v, 'trends'):
                _loop_vars = {}
                pass
                yield '    <figure>\n      <h4>'
                yield escape(environment.getattr(l_2_p, 'title'))
                yield ' <span class="latest">'
                yield escape(environment.getattr(l_2_p, 'latest'))
                yield '</span></h4>\n'
                if environment.getattr(l_2_p, 'chart'):
                    pass
                    yield escape(context.call((undefined(name='svg') if l_0_svg is missing else l_0_svg), environment.getattr(l_2_p, 'chart'), _loop_vars=_loop_vars))
                else:
                    pass
                    yield '<div class="placeholder" style="min-height: 110px">No values</div>'
                yield '    </figure>\n'
            l_2_p = missing
            yield '  </div>\n'
        else:
            pass
            yield '  <p class="muted">No history for this model yet.</p>\n'
        yield '\n'
        if (environment.getattr(environment.getattr(l_1_v, 'status'), 'key') != 'blind'):
            pass
            yield '  <h3>Calibration and latency</h3>\n  <div class="charts">\n    <figure>\n      <h4>Reliability diagram — current vs reference window</h4>\n'
            if environment.getattr(l_1_v, 'reliability'):
                pass
                yield escape(context.call((undefined(name='svg') if l_0_svg is missing else l_0_svg), environment.getattr(l_1_v, 'reliability'), _loop_vars=_loop_vars))
                yield "\n      <figcaption>Bars: accuracy per confidence bin, current window (pale: fewer than 20 rows); diamonds: reference window. Points under the diagonal are overconfident. The strip shows each window's share of rows per bin (labels: current rows).</figcaption>\n"
                l_1_cal = environment.getattr(environment.getattr((undefined(name='m') if l_1_m is missing else l_1_m), 'metrics'), 'calibration')
                _loop_vars['cal'] = l_1_cal
                l_1_ref = (environment.getattr(environment.getattr(environment.getattr((undefined(name='m') if l_1_m is missing else l_1_m), 'metrics'), 'calibration_drift'), 'reference_bins') if environment.getattr(environment.getattr((undefined(name='m') if l_1_m is missing else l_1_m), 'metrics'), 'calibration_drift') else [])
                _loop_vars['ref'] = l_1_ref
                yield '      <details class="bins"><summary>Bin table</summary>\n        <table><thead><tr><th>Confidence</th><th class="num">n</th><th class="num">Mean conf.</th><th class="num">Accuracy</th><th class="num">Ref. n</th><th class="num">Ref. accuracy</th></tr></thead>\n        <tbody>'
                l_2_loop = missing
                for l_2_b, l_2_loop in LoopContext(environment.getattr((undefined(name='cal') if l_1_cal is missing else l_1_cal), 'bins'), undefined):
                    l_2_rb = missing
                    _loop_vars = {}
                    pass
                    l_2_rb = (environment.getitem((undefined(name='ref') if l_1_ref is missing else l_1_ref), environment.getattr(l_2_loop, 'index0')) if (t_6((undefined(name='ref') if l_1_ref is missing else l_1_ref)) > environment.getattr(l_2_loop, 'index0')) else None)
                    _loop_vars['rb'] = l_2_rb
                    yield '<tr><td>'
                    yield escape(t_4('%.2f', environment.getattr(l_2_b, 'lower')))
                    yield '–'
                    yield escape(t_4('%.2f', environment.getattr(l_2_b, 'upper')))
                    yield '</td><td class="num">'
                    yield escape(t_1(environment.getattr(l_2_b, 'n')))
                    yield '</td><td class="num">'
                    yield escape(t_10(environment.getattr(l_2_b, 'mean_confidence')))
                    yield '</td><td class="num">'
                    yield escape(t_10(environment.getattr(l_2_b, 'accuracy')))
                    yield '</td><td class="num">'
                    yield escape(t_1((environment.getattr((undefined(name='rb') if l_2_rb is missing else l_2_rb), 'n') if (undefined(name='rb') if l_2_rb is missing else l_2_rb) else None)))
                    yield '</td><td class="num">'
                    yield escape(t_10((environment.getattr((undefined(name='rb') if l_2_rb is missing else l_2_rb), 'accuracy') if (undefined(name='rb') if l_2_rb is missing else l_2_rb) else None)))
                    yield '</td></tr>'
                l_2_loop = l_2_b = l_2_rb = missing
                yield '</tbody></table>\n      </details>\n'
            else:
                pass
                yield '<div class="placeholder">'
                yield escape(environment.getattr(l_1_v, 'reliability_note'))
                yield '</div>'
            yield '    </figure>\n    <figure>\n      <h4>Latency distribution</h4>\n'
            if environment.getattr(l_1_v, 'latency'):
                pass
                yield escape(context.call((undefined(name='svg') if l_0_svg is missing else l_0_svg), environment.getattr(l_1_v, 'latency'), _loop_vars=_loop_vars))
                yield '\n'
                l_1_lat = environment.getattr(environment.getattr((undefined(name='m') if l_1_m is missing else l_1_m), 'metrics'), 'latency_ms')
                _loop_vars['lat'] = l_1_lat
                yield '      <figcaption>'
                yield escape(t_1(environment.getattr((undefined(name='lat') if l_1_lat is missing else l_1_lat), 'n')))
                yield ' predictions · p50 '
                yield escape(t_9(environment.getattr((undefined(name='lat') if l_1_lat is missing else l_1_lat), 'p50')))
                yield ' · p95 '
                yield escape(t_9(environment.getattr((undefined(name='lat') if l_1_lat is missing else l_1_lat), 'p95')))
                yield ' · p99 '
                yield escape(t_9(environment.getattr((undefined(name='lat') if l_1_lat is missing else l_1_lat), 'p99')))
                yield ' · mean '
                yield escape(t_9(environment.getattr((undefined(name='lat') if l_1_lat is missing else l_1_lat), 'mean')))
                yield ' · max '
                yield escape(t_9(environment.getattr((undefined(name='lat') if l_1_lat is missing else l_1_lat), 'max')))
                yield '. Percentiles within '
                yield escape(t_12(environment.getattr((undefined(name='lat') if l_1_lat is missing else l_1_lat), 'relative_accuracy')))
                yield " relative error. Red solid lines are the register's limits.</figcaption>\n"
            else:
                pass
                yield '<div class="placeholder">'
                yield escape(environment.getattr(l_1_v, 'latency_note'))
                yield '</div>'
            yield '    </figure>\n  </div>\n'
            if environment.getattr(l_1_v, 'output_types'):
                pass
                yield '  <h4 style="margin-top: 14px">Error rate by output type</h4>\n  <table class="compact">\n    <thead><tr><th>Output type</th><th class="num">Error rate</th><th class="num">Interval</th><th class="num">n</th><th>Check</th></tr></thead>\n    <tbody>'
                for (l_2_name, l_2_value, l_2_ci, l_2_n, l_2_st) in environment.getattr(l_1_v, 'output_types'):
                    _loop_vars = {}
                    pass
                    yield '<tr><td class="mono">'
                    yield escape(l_2_name)
                    yield '</td><td class="num">'
                    yield escape(l_2_value)
                    yield '</td><td class="num">'
                    yield escape(l_2_ci)
                    yield '</td><td class="num">'
                    yield escape(l_2_n)
                    yield '</td><td>'
                    if l_2_st:
                        pass
                        yield escape(context.call((undefined(name='badge') if l_0_badge is missing else l_0_badge), l_2_st, _loop_vars=_loop_vars))
                    else:
                        pass
                        yield '<span class="muted">no limit</span>'
                    yield '</td></tr>'
                l_2_name = l_2_value = l_2_ci = l_2_n = l_2_st = missing
                yield '</tbody>\n  </table>\n'
        yield '\n'
        if environment.getattr((undefined(name='m') if l_1_m is missing else l_1_m), 'drift'):
            pass
            l_1_d = environment.getattr((undefined(name='m') if l_1_m is missing else l_1_m), 'drift')
            _loop_vars['d'] = l_1_d
            yield '  <h3>Drift</h3>\n  <p class="small">\n'
            if environment.getattr((undefined(name='d') if l_1_d is missing else l_1_d), 'skipped_reason'):
                pass
                yield '<b>Drift not computed:</b> '
                yield escape(environment.getattr((undefined(name='d') if l_1_d is missing else l_1_d), 'skipped_reason'))
                yield '.'
            else:
                pass
                l_1_nd = t_6(t_7(context.eval_ctx, t_14(context, environment.getattr((undefined(name='d') if l_1_d is missing else l_1_d), 'columns'), 'drifted')))
                _loop_vars['nd'] = l_1_nd
                yield '    <b>'
                yield escape((undefined(name='nd') if l_1_nd is missing else l_1_nd))
                yield ' of '
                yield escape(t_6(environment.getattr((undefined(name='d') if l_1_d is missing else l_1_d), 'columns')))
                yield '</b> columns drifted'
                if (not t_18(environment.getattr((undefined(name='d') if l_1_d is missing else l_1_d), 'share_drifted_features'))):
                    pass
                    yield ' ('
                    yield escape(t_12(environment.getattr((undefined(name='d') if l_1_d is missing else l_1_d), 'share_drifted_features')))
                    yield ' of features)'
                yield ' ·\n    every row: '
                yield escape(t_1(environment.getattr((undefined(name='d') if l_1_d is missing else l_1_d), 'sample_size_current')))
                yield ' current / '
                yield escape(t_1(environment.getattr((undefined(name='d') if l_1_d is missing else l_1_d), 'sample_size_reference')))
                yield ' reference'
            if environment.getattr(l_1_v, 'drift_link'):
                pass
                yield ' · <a href="'
                yield escape(environment.getattr(l_1_v, 'drift_link'))
                yield '">Evidently drill-down of the drifted columns, on a sample ('
                yield escape(environment.getattr(l_1_v, 'drift_link'))
                yield ')</a>'
            elif environment.getattr((undefined(name='d') if l_1_d is missing else l_1_d), 'html'):
                pass
                yield ' · Evidently drill-down of the drifted columns: <code>'
                yield escape(environment.getattr((undefined(name='d') if l_1_d is missing else l_1_d), 'html'))
                yield '</code>'
            yield '  </p>\n'
            if environment.getattr((undefined(name='d') if l_1_d is missing else l_1_d), 'columns'):
                pass
                yield '  <table>\n    <thead><tr><th>Column</th><th>Kind</th><th>Method</th><th class="num">Statistic</th><th class="num">p-value</th><th class="num">Threshold</th><th>Drifted</th></tr></thead>\n    <tbody>\n'
                for l_2_c in t_15(environment, environment.getattr((undefined(name='d') if l_1_d is missing else l_1_d), 'columns'), attribute='drifted', reverse=True):
                    _loop_vars = {}
                    pass
                    yield '      <tr data-drift-column="'
                    yield escape(environment.getattr(l_2_c, 'column'))
                    yield '"><td class="mono">'
                    yield escape(environment.getattr(l_2_c, 'column'))
                    yield '</td><td>'
                    yield escape(environment.getattr(l_2_c, 'kind'))
                    yield '</td><td>'
                    yield escape(environment.getattr(l_2_c, 'method'))
                    yield '</td><td class="num">'
                    yield escape(t_10(environment.getattr(l_2_c, 'statistic')))
                    yield '</td><td class="num">'
                    yield escape(t_11(environment.getattr(l_2_c, 'p_value')))
                    yield '</td><td class="num">'
                    yield escape(t_10(environment.getattr(l_2_c, 'threshold')))
                    yield '</td><td>'
                    if environment.getattr(l_2_c, 'drifted'):
                        pass
                        yield '<span class="badge st-breach"><span class="sym" aria-hidden="true">✕</span> drifted</span>'
                    else:
                        pass
                        yield '<span class="muted">no</span>'
                    yield '</td></tr>\n'
                l_2_c = missing
                yield '    </tbody>\n  </table>\n'
        yield '\n  <h3>Rows for this model</h3>\n  <div class="facts">\n    <div class="fact"><b>'
        yield escape(t_1(environment.getattr((undefined(name='m') if l_1_m is missing else l_1_m), 'n_rows')))
        yield '</b><span>rows in the current window</span></div>\n    <div class="fact"><b>'
        yield escape(t_1(environment.getattr((undefined(name='m') if l_1_m is missing else l_1_m), 'n_labeled')))
        yield '</b><span>labeled ('
        yield escape((t_12((environment.getattr((undefined(name='m') if l_1_m is missing else l_1_m), 'n_labeled') / environment.getattr((undefined(name='m') if l_1_m is missing else l_1_m), 'n_rows')), 0) if environment.getattr((undefined(name='m') if l_1_m is missing else l_1_m), 'n_rows') else '—'))
        yield ')</span></div>\n    <div class="fact"><b>'
        yield escape(t_1(environment.getattr((undefined(name='m') if l_1_m is missing else l_1_m), 'n_quarantined')))
        yield '</b><span>quarantined</span></div>\n    <div class="fact"><b>'
        yield escape(t_1(environment.getattr((undefined(name='m') if l_1_m is missing else l_1_m), 'n_duplicates')))
        yield '</b><span>duplicates dropped</span></div>\n    <div class="fact"><b>'
        yield escape(t_1(environment.getattr((undefined(name='m') if l_1_m is missing else l_1_m), 'n_reference_rows')))
        yield '</b><span>rows in the reference window</span></div>\n  </div>\n</section>\n'
    l_1_loop = l_1_v = l_1_m = l_1_cov = l_1_status = l_1_r = l_1_money = l_1_legend_statuses = l_1_cal = l_1_ref = l_1_lat = l_1_d = l_1_nd = missing
    yield '</main>\n<footer class="wrap">\n  modelhealth report · schema '
    yield escape(environment.getattr((undefined(name='report') if l_0_report is missing else l_0_report), 'schema_version'))
    yield ' · run '
    yield escape(environment.getattr((undefined(name='report') if l_0_report is missing else l_0_report), 'run_id'))
    yield ' · generated '
    yield escape(t_17(environment.getattr((undefined(name='report') if l_0_report is missing else l_0_report), 'generated_at')))
    yield '. This page is self-contained: it loads nothing from the network.\n</footer>\n<script>'
    yield escape((undefined(name='script') if l_0_script is missing else l_0_script))
    yield '</script>\n</body>\n</html>\n'

blocks = {}
debug_info = '3=128&4=137&7=154&8=160&9=161&10=165&11=184&12=188&13=207&14=211&15=232&16=236&17=265&18=269&20=298&24=330&25=339&26=347&27=350&28=353&29=357&30=378&31=382&32=393&33=397&34=422&35=426&37=434&43=444&44=450&45=454&52=490&55=492&316=498&320=500&322=502&323=504&324=506&325=508&326=510&327=512&332=514&334=516&341=528&342=531&343=543&345=545&346=548&358=553&359=557&360=560&361=571&362=575&363=577&364=579&365=583&366=585&367=587&368=589&369=591&370=606&380=623&381=627&383=633&385=649&388=663&389=669&390=671&391=673&392=675&393=677&394=679&398=687&401=690&404=703&406=706&408=714&409=717&410=721&417=730&421=733&423=743&424=750&425=757&430=761&431=774&432=777&435=787&437=791&438=795&439=799&442=801&445=803&449=806&450=809&452=818&453=820&454=823&455=832&456=838&458=842&460=854&462=857&463=861&464=871&465=873&466=879&473=889&477=892&478=896&482=916&486=922&488=924&489=927&492=929&497=957&498=959&500=962&503=967&505=975&506=979&507=982&508=995&509=1001&510=1007&512=1010&513=1015&518=1025&519=1029&523=1043&526=1052&527=1054&529=1057&531=1059&532=1070&533=1072&534=1074&535=1076&536=1078&537=1085&538=1087&539=1089&541=1091&543=1094&552=1106&553=1110&554=1117&555=1119&557=1121&558=1124&559=1127&560=1130&565=1136&568=1143&570=1146&571=1148&572=1162&575=1164&579=1174&581=1178&582=1182&590=1195&595=1198&597=1202&600=1208&602=1234&606=1237&607=1241&608=1244&609=1261&612=1264&616=1267&621=1289&622=1291&625=1294&626=1301&627=1304&628=1314&629=1318&631=1331&635=1334&636=1338&645=1362&646=1364&647=1368&648=1370&649=1372&655=1376&657=1382'