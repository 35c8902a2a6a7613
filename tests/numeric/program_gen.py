"""Random valid quant/qnn programs, as IR text, for the pass-semantics property tests."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from qdialect.type_syntax import format_float


def nested(values: list[int | float], shape: list[int]) -> str:
    if len(shape) <= 1:
        return "[" + ", ".join(str(v) for v in values) + "]"
    step = len(values) // shape[0]
    return (
        "["
        + ", ".join(nested(values[i : i + step], shape[1:]) for i in range(0, len(values), step))
        + "]"
    )


@dataclass
class Program:
    rng: random.Random
    lines: list[str] = field(default_factory=list)
    counter: int = 0
    values: list[tuple[str, str, list[int]]] = field(default_factory=list)  # name, elem, shape

    def fresh(self) -> str:
        self.counter += 1
        return f"%v{self.counter}"

    def qtype(self) -> str:
        unsigned = self.rng.random() < 0.5
        scale = format_float(self.rng.choice([0.5, 0.25, 0.125, 0.1, 0.05, 0.03, 0.02, 0.0078125]))
        lo, hi = (0, 255) if unsigned else (-128, 127)
        zp = self.rng.choice([lo, hi, 0 if not unsigned else 128, self.rng.randint(lo, hi)])
        return f"!quant.uniform<{'u8' if unsigned else 'i8'}:f32, {scale}:{zp}>"

    def emit(self, text: str, elem: str, shape: list[int]) -> str:
        name = self.fresh()
        self.lines.append(f"  {name} = {text}")
        self.values.append((name, elem, shape))
        return name


def tensor(shape: list[int], elem: str) -> str:
    return "tensor<" + "x".join(str(d) for d in shape) + f"x{elem}>"


def core_program(seed: int) -> str:
    """float input → quantize → random chain of quantized ops → dequantize."""
    rng = random.Random(seed)
    p = Program(rng)
    shape = [1, rng.randint(1, 4), rng.randint(3, 6), rng.randint(3, 6)]
    in_type = tensor(shape, "f32")
    elem = p.qtype()
    cast = rng.choice(["qnn.quantize %x : {a} -> {b}", "quant.qcast %x : {a} to {b}"])
    cur = p.emit(cast.format(a=in_type, b=tensor(shape, elem)), elem, shape)
    for _ in range(rng.randint(1, 6)):
        kind = rng.choice(
            ["conv", "conv", "relu", "clamp", "add", "requant", "qdq", "pool", "concat"]
        )
        t = tensor(shape, elem)
        if kind == "conv":
            cout = rng.randint(1, 4)
            k = rng.choice([1, 3])
            pad = k // 2
            weights = [rng.randint(-127, 127) for _ in range(cout * shape[1] * k * k)]
            wshape = [cout, shape[1], k, k]
            scales = ",".join(
                format_float(rng.choice([0.01, 0.02, 0.005, 0.03])) for _ in range(cout)
            )
            wq = f"!quant.uniform<i8<-127:127>:f32:0, {{{scales}}}>"
            wi = p.emit(
                f"arith.constant dense<{nested(weights, wshape)}> : {tensor(wshape, 'i8')}",
                "i8",
                wshape,
            )
            w = p.emit(
                f"quant.scast {wi} : {tensor(wshape, 'i8')} to {tensor(wshape, wq)}", wq, wshape
            )
            bias = ""
            if rng.random() < 0.6:
                b = p.emit(
                    f"arith.constant dense<{nested([rng.randint(-3000, 3000) for _ in range(cout)], [cout])}> : tensor<{cout}xi32>",
                    "i32",
                    [cout],
                )
                bias = f" bias({b} : tensor<{cout}xi32>)"
            out_shape = [1, cout, shape[2], shape[3]]
            out_elem = p.qtype()
            cur = p.emit(
                f"qnn.conv2d {cur}, {w}{bias} {{pads = array<i64: {pad}, {pad}, {pad}, {pad}>}} : {t}, {tensor(wshape, wq)} -> {tensor(out_shape, out_elem)}",
                out_elem,
                out_shape,
            )
            shape, elem = out_shape, out_elem
            t = tensor(shape, elem)
            follow = rng.choice(["relu", "clamp", "add", None])  # give fuse-conv-dot work
            if follow == "relu":
                cur = p.emit(f"qnn.relu {cur} : {t} -> {t}", elem, shape)
            elif follow == "clamp":
                cur = p.emit(
                    f"qnn.clamp {cur} {{min = 0.0 : f32, max = 6.0 : f32}} : {t} -> {t}",
                    elem,
                    shape,
                )
            elif follow == "add":
                earlier = [
                    v
                    for v in p.values[:-1]
                    if v[2] == shape and v[1].startswith("!quant.uniform") and ":f32:" not in v[1]
                ]
                if earlier:
                    residual = rng.choice(earlier)
                    out_elem = p.qtype()
                    cur = p.emit(
                        f"qnn.add {cur}, {residual[0]} : {t}, {tensor(shape, residual[1])} -> {tensor(shape, out_elem)}",
                        out_elem,
                        shape,
                    )
                    elem = out_elem
        elif kind == "relu":
            cur = p.emit(f"qnn.relu {cur} : {t} -> {t}", elem, shape)
        elif kind == "clamp":
            lo = rng.choice([-1.0, 0.0, 0.5])
            cur = p.emit(
                f"qnn.clamp {cur} {{min = {lo} : f32, max = {lo + rng.choice([1.0, 6.0])} : f32}} : {t} -> {t}",
                elem,
                shape,
            )
        elif kind == "add":
            same = [
                v
                for v in p.values
                if v[2] == shape
                and v[1].startswith("!quant.uniform")
                and ":f32:" not in v[1]  # per tensor (a per-axis weight type has ":f32:axis")
            ]
            other = rng.choice(same)
            out_elem = p.qtype()
            cur = p.emit(
                f"qnn.add {cur}, {other[0]} : {t}, {tensor(shape, other[1])} -> {tensor(shape, out_elem)}",
                out_elem,
                shape,
            )
            elem = out_elem
        elif kind == "requant":
            out_elem = p.qtype()
            cur = p.emit(
                f"qnn.requantize {cur} : {t} -> {tensor(shape, out_elem)}", out_elem, shape
            )
            elem = out_elem
        elif kind == "qdq":
            f = p.emit(f"qnn.dequantize {cur} : {t} -> {tensor(shape, 'f32')}", "f32", shape)
            out_elem = rng.choice([elem, p.qtype()])
            cur = p.emit(
                f"qnn.quantize {f} : {tensor(shape, 'f32')} -> {tensor(shape, out_elem)}",
                out_elem,
                shape,
            )
            elem = out_elem
        elif kind == "pool" and shape[2] >= 2 and shape[3] >= 2:
            op = rng.choice(["qnn.max_pool2d", "qnn.avg_pool2d"])
            out_shape = [1, shape[1], shape[2] - 1, shape[3] - 1]
            out_elem = elem if op == "qnn.max_pool2d" else p.qtype()
            cur = p.emit(
                f"{op} {cur} {{kernel = array<i64: 2, 2>}} : {t} -> {tensor(out_shape, out_elem)}",
                out_elem,
                out_shape,
            )
            shape, elem = out_shape, out_elem
        elif kind == "concat":
            out_shape = [1, shape[1] * 2, shape[2], shape[3]]
            out_elem = p.qtype()
            cur = p.emit(
                f"qnn.concat {cur}, {cur} {{axis = 1 : i64}} : ({t}, {t}) -> {tensor(out_shape, out_elem)}",
                out_elem,
                out_shape,
            )
            shape, elem = out_shape, out_elem
    out = tensor(shape, "f32")
    last = rng.choice(["qnn.dequantize {c} : {a} -> {b}", "quant.dcast {c} : {a} to {b}"])
    y = p.emit(last.format(c=cur, a=tensor(shape, elem), b=out), "f32", shape)
    body = "\n".join(p.lines)
    return f"func.func @main(%x: {in_type}) -> {out} {{\n{body}\n  func.return {y} : {out}\n}}\n"


def scaled_program(seed: int) -> str:
    """nGraph-style: scaled_quantize → scaled_conv2d / scaled_dot / scaled_concat → dequantize."""
    rng = random.Random(seed)
    p = Program(rng)
    scheme = rng.choice(
        [
            "asymmetric",
            "symmetric",
            "symmetric_pytorch",
            "symmetric_uint8",
            "symmetric_power2",
            "ngraph_scaled",
        ]
    )
    act = rng.choice(["u8", "i8"])
    if scheme == "ngraph_scaled":
        act = "i8"
    any_act, any_w = f"!quant.any<{act}:f32>", "!quant.any<i8:f32>"
    kind = rng.choice(["conv", "dot", "concat"])
    attrs = f'scheme = "{scheme}"'
    if kind in ("conv", "concat"):
        shape = [1, rng.randint(1, 3), rng.randint(3, 5), rng.randint(3, 5)]
    else:
        shape = [rng.randint(1, 3), rng.randint(2, 6)]
    x_lo, x_hi = rng.choice([(0.0, 1.0), (-1.0, 1.0), (-0.5, 2.0)])
    xq = p.emit(
        f"qnn.scaled_quantize %x {{min = {x_lo} : f32, max = {x_hi} : f32, {attrs}}} : {tensor(shape, 'f32')} -> {tensor(shape, any_act)}",
        any_act,
        shape,
    )
    if kind == "concat":
        second = p.emit(
            f"qnn.scaled_quantize %x {{min = -2.0 : f32, max = 2.0 : f32, {attrs}}} : {tensor(shape, 'f32')} -> {tensor(shape, any_act)}",
            any_act,
            shape,
        )
        out_shape = [1, shape[1] * 2, shape[2], shape[3]]
        y = p.emit(
            f"qnn.scaled_concat {xq}, {second} {{axis = 1 : i64, input_mins = [{x_lo} : f32, -2.0 : f32], input_maxs = [{x_hi} : f32, 2.0 : f32], {attrs}}} : ({tensor(shape, any_act)}, {tensor(shape, any_act)}) -> {tensor(out_shape, any_act)}",
            any_act,
            out_shape,
        )
        o_lo, o_hi = min(x_lo, -2.0), max(x_hi, 2.0)
    else:
        if kind == "conv":
            cout = rng.randint(1, 3)
            wshape = [cout, shape[1], 3, 3]
            out_shape = [1, cout, shape[2], shape[3]]
            props = "pads = array<i64: 1, 1, 1, 1>, "
        else:
            cout = rng.randint(1, 4)
            wshape = [shape[1], cout]
            out_shape = [shape[0], cout]
            props = ""
        n = 1
        for d in wshape:
            n *= d
        wi = p.emit(
            f"arith.constant dense<{nested([rng.randint(-127, 127) for _ in range(n)], wshape)}> : {tensor(wshape, 'i8')}",
            "i8",
            wshape,
        )
        w = p.emit(
            f"quant.scast {wi} : {tensor(wshape, 'i8')} to {tensor(wshape, any_w)}", any_w, wshape
        )
        bias = ""
        if rng.random() < 0.7:
            b = p.emit(
                f"arith.constant dense<{nested([round(rng.uniform(-1, 1), 3) for _ in range(cout)], [cout])}> : tensor<{cout}xf32>",
                "f32",
                [cout],
            )
            bias = f" bias({b} : tensor<{cout}xf32>)"
        o_lo, o_hi = rng.choice([(0.0, 4.0), (-4.0, 4.0), (-1.0, 8.0)])
        act_prop = rng.choice(
            [
                "",
                'activation = "relu", ',
                'activation = "clamp", clamp_min = -1.0 : f32, clamp_max = 1.0 : f32, ',
            ]
        )
        op = "qnn.scaled_conv2d" if kind == "conv" else "qnn.scaled_dot"
        y = p.emit(
            f"{op} {xq}, {w}{bias} {{{props}{act_prop}input_min = {x_lo} : f32, input_max = {x_hi} : f32, weight_min = -1.0 : f32, weight_max = 1.0 : f32, output_min = {o_lo} : f32, output_max = {o_hi} : f32, {attrs}}} : {tensor(shape, any_act)}, {tensor(wshape, any_w)} -> {tensor(out_shape, any_act)}",
            any_act,
            out_shape,
        )
    out = tensor(out_shape, "f32")
    r = p.emit(
        f"qnn.scaled_dequantize {y} {{min = {o_lo} : f32, max = {o_hi} : f32, {attrs}}} : {tensor(out_shape, any_act)} -> {out}",
        "f32",
        out_shape,
    )
    body = "\n".join(p.lines)
    return f"func.func @main(%x: {tensor(shape, 'f32')}) -> {out} {{\n{body}\n  func.return {r} : {out}\n}}\n"


def _qtype(rng: random.Random, storage: str, per_axis: tuple[int, int] | None = None) -> str:
    """A random uniform type; per_axis = (axis, channels) gives per-channel scales."""
    bits = {"i8": (-128, 127), "u8": (0, 255), "i16": (-32768, 32767)}[storage]
    lo, hi = bits
    if per_axis is not None:
        axis, n = per_axis
        pairs = ",".join(
            f"{format_float(rng.choice([0.01, 0.02, 0.004, 0.03]))}:{rng.randint(lo, hi) // 8}"
            for _ in range(n)
        )
        return f"!quant.uniform<{storage}:f32:{axis}, {{{pairs}}}>"
    scale = format_float(rng.choice([0.5, 0.1, 0.05, 0.02, 0.0078125, 0.25]))
    return f"!quant.uniform<{storage}:f32, {scale}:{rng.randint(lo, hi)}>"


def conv_program(seed: int) -> str:
    """One conv2d or dot in a random configuration: layout, groups (depthwise), dilation,
    strides, padding, storage, per-axis weights, bias, activation, fused residual add,
    float or raw i32 variants, odd sizes."""
    rng = random.Random(seed)
    kind = rng.choice(["conv", "conv", "dot"])
    flavour = rng.choice(["quantized", "quantized", "quantized", "float", "raw"])
    act_storage = rng.choice(["i8", "u8", "i16"] if flavour != "float" else ["f32"])
    attrs: list[str] = []
    if kind == "conv":
        layout = rng.choice(["nchw", "nhwc"])
        groups = rng.choice([1, 1, 2, 3])
        cin = groups * rng.choice([1, 2, 3])
        cout = groups * rng.choice([1, 2, 3])
        if rng.random() < 0.3:  # depthwise
            cin = cout = groups
        kh, kw = rng.choice([1, 3, 5]), rng.choice([1, 3])
        sh, sw = rng.choice([1, 2]), rng.choice([1, 2])
        dh, dw = rng.choice([1, 2]), 1
        h, w = rng.choice([1, 3, 7, 13]), rng.choice([3, 7, 8])
        pads = [
            rng.randint(0, kh // 2 * dh),
            rng.randint(0, kw // 2),
            rng.randint(0, kh // 2 * dh),
            rng.randint(0, kw // 2),
        ]
        eff_h, eff_w = dh * (kh - 1) + 1, dw * (kw - 1) + 1
        h = max(h, eff_h - pads[0] - pads[2])
        w = max(w, eff_w - pads[1] - pads[3])
        oh = (h + pads[0] + pads[2] - eff_h) // sh + 1
        ow = (w + pads[1] + pads[3] - eff_w) // sw + 1
        x_shape = [1, cin, h, w] if layout == "nchw" else [1, h, w, cin]
        w_shape = (
            [cout, cin // groups, kh, kw] if layout == "nchw" else [cout, kh, kw, cin // groups]
        )
        y_shape = [1, cout, oh, ow] if layout == "nchw" else [1, oh, ow, cout]
        attrs += [
            f"strides = array<i64: {sh}, {sw}>",
            f"dilations = array<i64: {dh}, {dw}>",
            f"pads = array<i64: {', '.join(map(str, pads))}>",
            f"groups = {groups} : i64",
            f'layout = "{layout}"',
        ]
        op, channels, w_axis = "qnn.conv2d", cout, 0
    else:
        m, k, n = rng.choice([1, 3, 7]), rng.choice([1, 5, 16]), rng.choice([1, 3, 13])
        batch = [rng.choice([1, 2])] if rng.random() < 0.4 else []
        x_shape, w_shape, y_shape = [*batch, m, k], [k, n], [*batch, m, n]
        op, channels, w_axis = "qnn.dot", n, 1
    if flavour == "float":
        xt = wt = yt = "f32"
    else:
        xt = _qtype(rng, act_storage)
        wt = _qtype(rng, "i8", (w_axis, channels) if rng.random() < 0.5 else None)
        yt = "i32" if flavour == "raw" else _qtype(rng, rng.choice(["i8", "u8"]))
    args = [("x", tensor(x_shape, xt)), ("w", tensor(w_shape, wt))]
    operands = ""
    if rng.random() < 0.6:
        bt = "f32" if flavour == "float" else "i32"
        args.append(("b", f"tensor<{channels}x{bt}>"))
        operands += f" bias(%b : tensor<{channels}x{bt}>)"
    if flavour == "quantized" and rng.random() < 0.3:
        attrs.append(f'requant_mode = "{rng.choice(["tflite", "tosa_single", "tosa_double"])}"')
    if flavour != "raw":
        act = rng.choice(["none", "relu", "clamp"])
        if act != "none":
            attrs.append(f'activation = "{act}"')
        if act == "clamp":
            attrs += ["clamp_min = -1.5 : f32", "clamp_max = 3.0 : f32"]
        if rng.random() < 0.3:
            rt = "f32" if flavour == "float" else _qtype(rng, rng.choice(["i8", "u8"]))
            args.append(("r", tensor(y_shape, rt)))
            operands += f" addend(%r : {tensor(y_shape, rt)})"
            if flavour != "float":
                attrs.append(f"intermediate = {_qtype(rng, rng.choice(['i8', 'u8']))}")
    signature = ", ".join(f"%{n}: {t}" for n, t in args)
    out = tensor(y_shape, yt)
    props = f" {{{', '.join(attrs)}}}" if attrs else ""
    return (
        f"func.func @main({signature}) -> {out} {{\n"
        f"  %y = {op} %x, %w{operands}{props} : {tensor(x_shape, xt)}, {tensor(w_shape, wt)} -> {out}\n"
        f"  func.return %y : {out}\n}}\n"
    )


def misc_program(seed: int) -> str:
    """One pooling, add or concat op in a random configuration (layouts, windows, padding,
    count_include_pad, broadcasting, storage i8/u8/i16 or float, mixed input types)."""
    rng = random.Random(seed)
    kind = rng.choice(["max", "avg", "add", "concat"])
    storage = rng.choice(["i8", "u8", "i16", "f32"])

    def elem() -> str:
        return "f32" if storage == "f32" else _qtype(rng, storage)

    if kind in ("max", "avg"):
        layout = rng.choice(["nchw", "nhwc"])
        c, h, w = rng.choice([1, 3]), rng.choice([1, 4, 7]), rng.choice([3, 5, 8])
        kh, kw = rng.randint(1, min(3, h)), rng.randint(1, 3)
        if rng.random() < 0.2:
            kh, kw = h, w  # a global pool
        pads = [
            rng.randint(0, kh - 1),
            rng.randint(0, kw - 1),
            rng.randint(0, kh - 1),
            rng.randint(0, kw - 1),
        ]
        if (kh, kw) == (h, w):
            pads = [0, 0, 0, 0]
        sh, sw = rng.choice([1, 2]), rng.choice([1, 2])
        dh = rng.choice([1, 2]) if kind == "max" and h >= 2 * kh else 1
        oh = (h + pads[0] + pads[2] - dh * (kh - 1) - 1) // sh + 1
        ow = (w + pads[1] + pads[3] - kw) // sw + 1
        x_shape = [1, c, h, w] if layout == "nchw" else [1, h, w, c]
        y_shape = [1, c, oh, ow] if layout == "nchw" else [1, oh, ow, c]
        xt = elem()
        yt = xt if kind == "max" or storage == "f32" else elem()
        attrs = [
            f"kernel = array<i64: {kh}, {kw}>",
            f"strides = array<i64: {sh}, {sw}>",
            f"pads = array<i64: {', '.join(map(str, pads))}>",
            f'layout = "{layout}"',
        ]
        if kind == "max":
            attrs.append(f"dilations = array<i64: {dh}, 1>")
        elif rng.random() < 0.5:
            attrs.append("count_include_pad = true")
        op = f"qnn.{kind}_pool2d %x {{{', '.join(attrs)}}} : {tensor(x_shape, xt)} -> {tensor(y_shape, yt)}"
        args, out = [("x", tensor(x_shape, xt))], tensor(y_shape, yt)
    elif kind == "add":
        shape = [rng.choice([1, 2]), rng.choice([1, 3, 7]), rng.choice([1, 5])]
        other = [d if rng.random() < 0.6 else 1 for d in shape][rng.randint(0, 2) :]
        at, bt, yt = elem(), elem(), elem()
        if storage == "f32":
            at = bt = yt = "f32"
        args = [("x", tensor(shape, at)), ("z", tensor(other, bt))]
        out = tensor(shape, yt)
        op = f"qnn.add %x, %z : {tensor(shape, at)}, {tensor(other, bt)} -> {out}"
    else:
        axis = rng.randint(0, 2)
        base = [rng.choice([1, 2]), rng.choice([2, 3]), rng.choice([1, 4])]
        parts = []
        for _ in range(rng.randint(1, 3)):
            s = list(base)
            s[axis] = rng.randint(1, 3)
            parts.append((s, "f32" if storage == "f32" else elem()))
        total = list(base)
        total[axis] = sum(s[axis] for s, _ in parts)
        yt = "f32" if storage == "f32" else rng.choice([parts[0][1], elem()])
        args = [(f"p{i}", tensor(s, t)) for i, (s, t) in enumerate(parts)]
        names = ", ".join(f"%p{i}" for i in range(len(parts)))
        types = ", ".join(tensor(s, t) for s, t in parts)
        out = tensor(total, yt)
        op = f"qnn.concat {names} {{axis = {axis} : i64}} : ({types}) -> {out}"
    signature = ", ".join(f"%{n}: {t}" for n, t in args)
    return f"func.func @main({signature}) -> {out} {{\n  %y = {op}\n  func.return %y : {out}\n}}\n"
