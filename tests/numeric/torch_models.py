"""Small float models as torch exports them: the graphs ORT's quantizers and our importer meet.

The hand-built graphs of `float_models` hold what we chose to write; these hold what
`torch.onnx.export` writes for eleven common architectures (MobileNetV3, EfficientNet, a
YOLOv8-like detector, ResNet, ViT, ConvNeXt, GPT-2, T5, UNet, a Whisper encoder, BERT with
token inputs) with both of its exporters: the TorchScript one (opset 17) and the dynamo one
(opset 20, value_info on every tensor and initializer, torch.export's decompositions). Each
architecture is a few blocks wide, with seeded weights, non-trivial norm parameters and
BatchNorm statistics from data, so that the folded convolutions and the activation ranges are
those of a trained model, not of its initialization.
"""

from __future__ import annotations

import functools
import hashlib
import io
import math
import warnings
from typing import NamedTuple

import numpy as np
import onnx
import torch
from torch import nn
from torch.nn import functional as F

EXPORTERS = ("ts", "dynamo")


class Input(NamedTuple):
    shape: tuple[int, ...]
    dtype: str = "float32"
    high: int | None = None  # int64: values in [0, high)


class ConvBNAct(nn.Sequential):
    def __init__(self, cin: int, cout: int, k: int = 3, s: int = 1, groups: int = 1, act=nn.ReLU):
        conv = nn.Conv2d(cin, cout, k, s, k // 2, groups=groups, bias=False)
        super().__init__(conv, nn.BatchNorm2d(cout), *([act()] if act else []))


class SqueezeExcite(nn.Module):
    """Global average pool, two 1x1 convolutions and a gate that scales the input."""

    def __init__(self, c: int, rd: int, act=nn.ReLU, gate=nn.Hardsigmoid):
        super().__init__()
        self.pool, self.fc1, self.act = nn.AdaptiveAvgPool2d(1), nn.Conv2d(c, rd, 1), act()
        self.fc2, self.gate = nn.Conv2d(rd, c, 1), gate()

    def forward(self, x):
        return x * self.gate(self.fc2(self.act(self.fc1(self.pool(x)))))


class Residual(nn.Module):
    """`block`, plus its input when `add`."""

    def __init__(self, block: nn.Module, add: bool):
        super().__init__()
        self.block, self.add = block, add

    def forward(self, x):
        y = self.block(x)
        return x + y if self.add else y


def inverted_residual(cin: int, k: int, exp: int, cout: int, se: bool, act, stride: int):
    """MobileNetV3's block: expand, depthwise, squeeze-excite, project."""
    layers = [ConvBNAct(cin, exp, 1, act=act)] if exp != cin else []
    layers.append(ConvBNAct(exp, exp, k, stride, groups=exp, act=act))
    if se:
        layers.append(SqueezeExcite(exp, max(8, (exp // 4 + 4) // 8 * 8)))
    layers.append(ConvBNAct(exp, cout, 1, act=None))
    return Residual(nn.Sequential(*layers), stride == 1 and cin == cout)


class MobileNetV3Block(nn.Module):
    """Hardswish, Hardsigmoid-gated squeeze-excite, a Hardswish classifier."""

    def __init__(self, num_classes: int = 10):
        super().__init__()
        re, hs = nn.ReLU, nn.Hardswish
        self.stem = ConvBNAct(3, 16, 3, 2, act=hs)
        self.blocks = nn.Sequential(
            inverted_residual(16, 3, 16, 16, True, re, 2),
            inverted_residual(16, 3, 72, 24, False, re, 2),
            inverted_residual(24, 3, 88, 24, False, re, 1),
            inverted_residual(24, 5, 96, 40, True, hs, 2),
            inverted_residual(40, 5, 240, 40, True, hs, 1),
        )
        self.last = ConvBNAct(40, 240, 1, act=hs)
        self.pool, self.flatten = nn.AdaptiveAvgPool2d(1), nn.Flatten(1)
        self.classifier = nn.Sequential(
            nn.Linear(240, 256), nn.Hardswish(), nn.Dropout(0.2), nn.Linear(256, num_classes)
        )

    def forward(self, x):
        x = self.last(self.blocks(self.stem(x)))
        return self.classifier(self.flatten(self.pool(x)))


def mbconv(cin: int, cout: int, k: int, stride: int, expand: int):
    """EfficientNet's block: SiLU throughout, a Sigmoid-gated squeeze-excite."""
    mid = cin * expand
    layers = [ConvBNAct(cin, mid, 1, act=nn.SiLU)] if expand != 1 else []
    layers += [
        ConvBNAct(mid, mid, k, stride, groups=mid, act=nn.SiLU),
        SqueezeExcite(mid, max(1, cin // 4), act=nn.SiLU, gate=nn.Sigmoid),
        ConvBNAct(mid, cout, 1, act=None),
    ]
    return Residual(nn.Sequential(*layers), stride == 1 and cin == cout)


class EfficientNetBlock(nn.Module):
    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.stem = ConvBNAct(3, 32, 3, 2, act=nn.SiLU)
        self.blocks = nn.Sequential(
            mbconv(32, 16, 3, 1, 1),
            mbconv(16, 24, 3, 2, 6),
            mbconv(24, 24, 3, 1, 6),
            mbconv(24, 40, 5, 2, 6),
            mbconv(40, 40, 5, 1, 6),
        )
        self.head = ConvBNAct(40, 160, 1, act=nn.SiLU)
        self.pool, self.dropout, self.fc = (
            nn.AdaptiveAvgPool2d(1),
            nn.Dropout(0.2),
            nn.Linear(160, num_classes),
        )

    def forward(self, x):
        x = torch.flatten(self.pool(self.head(self.blocks(self.stem(x)))), 1)
        return self.fc(self.dropout(x))


def yconv(cin: int, cout: int, k: int = 1, s: int = 1) -> ConvBNAct:
    return ConvBNAct(cin, cout, k, s, act=nn.SiLU)


class C2f(nn.Module):
    """YOLOv8's CSP block: a 1x1 conv split in two halves (Split or chunk), bottlenecks on the
    last half, everything concatenated."""

    def __init__(self, c1: int, c2: int, n: int = 1, shortcut: bool = False, split: bool = False):
        super().__init__()
        self.c, self.split = c2 // 2, split
        self.cv1, self.cv2 = yconv(c1, 2 * self.c), yconv((2 + n) * self.c, c2)
        self.m = nn.ModuleList(
            Residual(nn.Sequential(yconv(self.c, self.c, 3), yconv(self.c, self.c, 3)), shortcut)
            for _ in range(n)
        )

    def forward(self, x):
        y = self.cv1(x)
        y = list(y.split((self.c, self.c), 1) if self.split else y.chunk(2, 1))
        for m in self.m:
            y.append(m(y[-1]))
        return self.cv2(torch.cat(y, 1))


class SPPF(nn.Module):
    def __init__(self, c1: int, c2: int, k: int = 5):
        super().__init__()
        self.cv1, self.cv2 = yconv(c1, c1 // 2), yconv(c1 // 2 * 4, c2)
        self.m = nn.MaxPool2d(k, 1, k // 2)

    def forward(self, x):
        ys = [self.cv1(x)]
        for _ in range(3):
            ys.append(self.m(ys[-1]))
        return self.cv2(torch.cat(ys, 1))


class DetectScale(nn.Module):
    """One scale of YOLOv8's head: box and class branches, the distribution focal loss integral
    (softmax over 16 bins, a 1x1 conv with a frozen arange weight) and anchor decoding."""

    def __init__(self, cin: int, h: int, w: int, stride: int, nc: int, bins: int = 16):
        super().__init__()
        self.bins, self.stride = bins, float(stride)
        self.box = nn.Sequential(yconv(cin, 32, 3), yconv(32, 32, 3), nn.Conv2d(32, 4 * bins, 1))
        self.cls = nn.Sequential(yconv(cin, 32, 3), yconv(32, 32, 3), nn.Conv2d(32, nc, 1))
        self.dfl = nn.Conv2d(bins, 1, 1, bias=False).requires_grad_(False)
        self.dfl.weight.data[:] = torch.arange(bins, dtype=torch.float32).view(1, bins, 1, 1)
        sy, sx = torch.meshgrid(torch.arange(h) + 0.5, torch.arange(w) + 0.5, indexing="ij")
        self.register_buffer("anchors", torch.stack((sx, sy)).view(1, 2, h * w))

    def forward(self, x):
        b, c = self.box(x).flatten(2), self.cls(x).flatten(2)
        n, _, a = b.shape
        dist = b.view(n, 4, self.bins, a).transpose(2, 1).softmax(1)
        lt, rb = self.dfl(dist).view(n, 4, a).chunk(2, 1)
        x1y1, x2y2 = self.anchors - lt, self.anchors + rb
        box = torch.cat(((x1y1 + x2y2) / 2, x2y2 - x1y1), 1) * self.stride
        return torch.cat((box, c.sigmoid()), 1)


class YoloLike(nn.Module):
    """A YOLOv8-n-like backbone, FPN/PAN neck (nearest Upsample, Concat) and three heads."""

    def __init__(self, nc: int = 8, img: int = 128):
        super().__init__()
        self.b0, self.b1 = yconv(3, 16, 3, 2), yconv(16, 32, 3, 2)
        self.b2, self.b3 = C2f(32, 32, 1, True), yconv(32, 64, 3, 2)
        self.b4, self.b5 = C2f(64, 64, 2, True, split=True), yconv(64, 96, 3, 2)
        self.b6, self.b7 = C2f(96, 96, 1, True), yconv(96, 128, 3, 2)
        self.b8, self.sppf = C2f(128, 128, 1, True), SPPF(128, 128)
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.n1, self.n2 = C2f(128 + 96, 96), C2f(96 + 64, 64)
        self.d1, self.n3 = yconv(64, 64, 3, 2), C2f(64 + 96, 96)
        self.d2, self.n4 = yconv(96, 96, 3, 2), C2f(96 + 128, 128)
        self.heads = nn.ModuleList(
            DetectScale(c, img // s, img // s, s, nc) for c, s in ((64, 8), (96, 16), (128, 32))
        )

    def forward(self, x):
        x = self.b2(self.b1(self.b0(x)))
        p3 = self.b4(self.b3(x))
        p4 = self.b6(self.b5(p3))
        p5 = self.sppf(self.b8(self.b7(p4)))
        t4 = self.n1(torch.cat((self.up(p5), p4), 1))
        o3 = self.n2(torch.cat((self.up(t4), p3), 1))
        o4 = self.n3(torch.cat((self.d1(o3), t4), 1))
        o5 = self.n4(torch.cat((self.d2(o4), p5), 1))
        return torch.cat([h(f) for h, f in zip(self.heads, (o3, o4, o5), strict=True)], 2)


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1, self.relu = nn.BatchNorm2d(cout), nn.ReLU(inplace=True)
        self.conv2, self.bn2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)
            )

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        return self.relu(out + identity)


class ResNetBasic(nn.Module):
    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(3, 32, 7, 2, 3, bias=False), nn.BatchNorm2d(32)
        self.relu, self.maxpool = nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 1)
        self.layer1 = nn.Sequential(BasicBlock(32, 32), BasicBlock(32, 32))
        self.layer2 = nn.Sequential(BasicBlock(32, 64, 2), BasicBlock(64, 64))
        self.layer3 = nn.Sequential(BasicBlock(64, 128, 2), BasicBlock(128, 128))
        self.avgpool, self.fc = nn.AdaptiveAvgPool2d((1, 1)), nn.Linear(128, num_classes)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def heads(t, n: int):
    """[B, T, C] -> [B, n, T, C / n]."""
    b, s, c = t.shape
    return t.view(b, s, n, c // n).permute(0, 2, 1, 3)


class ViTAttention(nn.Module):
    def __init__(self, dim: int = 64, n: int = 4):
        super().__init__()
        self.n, self.scale = n, (dim // n) ** -0.5
        self.qkv, self.proj = nn.Linear(dim, dim * 3), nn.Linear(dim, dim)

    def forward(self, x):
        b, s, c = x.shape
        q, k, v = self.qkv(x).reshape(b, s, 3, self.n, c // self.n).permute(2, 0, 3, 1, 4).unbind(0)
        attn = ((q @ k.transpose(-2, -1)) * self.scale).softmax(dim=-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(b, s, c))


class ViTBlock(nn.Module):
    def __init__(self, dim: int = 64, n: int = 4):
        super().__init__()
        self.norm1, self.attn = nn.LayerNorm(dim, eps=1e-6), ViTAttention(dim, n)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = nn.Sequential(nn.Linear(dim, dim * 4), nn.GELU(), nn.Linear(dim * 4, dim))

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class ViTTiny(nn.Module):
    """Patch-embedding conv, class token, learned positions, two pre-norm blocks (Erf GELU)."""

    def __init__(self, img: int = 64, patch: int = 8, dim: int = 64, num_classes: int = 10):
        super().__init__()
        self.patch_embed = nn.Conv2d(3, dim, patch, patch)
        self.cls_token = nn.Parameter(torch.randn(1, 1, dim) * 0.02)
        self.pos_embed = nn.Parameter(torch.randn(1, (img // patch) ** 2 + 1, dim) * 0.02)
        self.blocks = nn.Sequential(ViTBlock(dim), ViTBlock(dim))
        self.norm, self.head = nn.LayerNorm(dim, eps=1e-6), nn.Linear(dim, num_classes)

    def forward(self, x):
        x = self.patch_embed(x).flatten(2).transpose(1, 2)
        x = torch.cat((self.cls_token.expand(x.shape[0], -1, -1), x), dim=1) + self.pos_embed
        return self.head(self.norm(self.blocks(x))[:, 0])


class ConvNeXtBlock(nn.Module):
    """7x7 depthwise conv, channels-last LayerNorm and MLP, layer scale (far from its 1e-6 init,
    as in trained checkpoints)."""

    def __init__(self, dim: int):
        super().__init__()
        self.dwconv = nn.Conv2d(dim, dim, 7, padding=3, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.pwconv1, self.act = nn.Linear(dim, 4 * dim), nn.GELU()
        self.pwconv2 = nn.Linear(4 * dim, dim)
        self.gamma = nn.Parameter(0.1 + 0.4 * torch.rand(dim))

    def forward(self, x):
        y = self.pwconv2(self.act(self.pwconv1(self.norm(self.dwconv(x).permute(0, 2, 3, 1)))))
        return x + (self.gamma * y).permute(0, 3, 1, 2)


class ConvNeXtBlockNet(nn.Module):
    def __init__(self, dim: int = 48, num_classes: int = 10):
        super().__init__()
        self.stem, self.stem_norm = nn.Conv2d(3, dim, 4, 4), nn.LayerNorm(dim, eps=1e-6)
        self.blocks = nn.Sequential(ConvNeXtBlock(dim), ConvNeXtBlock(dim))
        self.norm, self.head = nn.LayerNorm(dim, eps=1e-6), nn.Linear(dim, num_classes)

    def forward(self, x):
        x = self.stem_norm(self.stem(x).permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        return self.head(self.norm(self.blocks(x).mean([-2, -1])))


class NewGELU(nn.Module):
    """GPT-2's tanh GELU, written out (what ORT's FastGeluFusion looks for)."""

    def forward(self, x):
        return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3.0)))


class GPT2Attention(nn.Module):
    """Fused qkv projection split in three, causal mask through Where with float32's minimum."""

    def __init__(self, dim: int = 64, n: int = 4, ctx: int = 16):
        super().__init__()
        self.dim, self.n = dim, n
        self.c_attn, self.c_proj = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)
        causal = torch.tril(torch.ones(ctx, ctx)).bool().view(1, 1, ctx, ctx)
        self.register_buffer("bias", causal, persistent=False)

    def forward(self, x):
        b, s, c = x.size()
        q, k, v = (heads(t, self.n) for t in self.c_attn(x).split(self.dim, dim=2))
        w = torch.matmul(q, k.transpose(-1, -2))
        w = w / torch.full([], v.size(-1) ** 0.5, dtype=w.dtype)
        w = torch.where(self.bias[:, :, :s, :s], w, torch.full([], torch.finfo(w.dtype).min))
        a = torch.matmul(F.softmax(w, dim=-1), v).permute(0, 2, 1, 3).contiguous().view(b, s, c)
        return self.c_proj(a)


class GPT2Block(nn.Module):
    def __init__(self, dim: int = 64):
        super().__init__()
        self.ln_1, self.attn = nn.LayerNorm(dim), GPT2Attention(dim)
        self.ln_2, self.c_fc = nn.LayerNorm(dim), nn.Linear(dim, 4 * dim)
        self.act, self.c_proj = NewGELU(), nn.Linear(4 * dim, dim)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.c_proj(self.act(self.c_fc(self.ln_2(x))))


class GPT2Stack(nn.Sequential):
    def __init__(self):
        super().__init__(GPT2Block(), GPT2Block(), nn.LayerNorm(64))


class T5LayerNorm(nn.Module):
    """RMSNorm: no mean, no bias."""

    def __init__(self, dim: int, eps: float = 1e-6):
        super().__init__()
        self.weight, self.eps = nn.Parameter(torch.ones(dim)), eps

    def forward(self, x):
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))


class T5Attention(nn.Module):
    """No biases, no score scaling, an added position bias."""

    def __init__(self, dim: int = 64, n: int = 4):
        super().__init__()
        self.n = n
        self.qkv = nn.ModuleList(nn.Linear(dim, dim, bias=False) for _ in range(3))
        self.o = nn.Linear(dim, dim, bias=False)

    def forward(self, x, position_bias):
        b, s, c = x.shape
        q, k, v = (t(x).view(b, -1, self.n, c // self.n).transpose(1, 2) for t in self.qkv)
        scores = torch.matmul(q, k.transpose(3, 2)) + position_bias
        w = F.softmax(scores.float(), dim=-1).type_as(scores)
        return self.o(torch.matmul(w, v).transpose(1, 2).contiguous().view(b, -1, c))


class T5Block(nn.Module):
    def __init__(self, dim: int = 64, ff: int = 256):
        super().__init__()
        self.ln_attn, self.attn = T5LayerNorm(dim), T5Attention(dim)
        self.ln_ff = T5LayerNorm(dim)
        self.wi, self.wo = nn.Linear(dim, ff, bias=False), nn.Linear(ff, dim, bias=False)

    def forward(self, x, position_bias):
        x = x + self.attn(self.ln_attn(x), position_bias)
        return x + self.wo(F.relu(self.wi(self.ln_ff(x))))


class T5Stack(nn.Module):
    def __init__(self, tokens: int = 16, n: int = 4):
        super().__init__()
        self.register_buffer("position_bias", torch.randn(1, n, tokens, tokens) * 0.5)
        self.block = nn.ModuleList([T5Block(), T5Block()])
        self.final_layer_norm = T5LayerNorm(64)

    def forward(self, x):
        for block in self.block:
            x = block(x, self.position_bias)
        return self.final_layer_norm(x)


def double_conv(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(ConvBNAct(cin, cout, 3), ConvBNAct(cout, cout, 3))


class UNetSmall(nn.Module):
    """Two levels of MaxPool down, ConvTranspose up, skip connections through Concat."""

    def __init__(self, out_ch: int = 2):
        super().__init__()
        self.enc1, self.enc2 = double_conv(3, 16), double_conv(16, 32)
        self.pool, self.bott = nn.MaxPool2d(2), double_conv(32, 64)
        self.up2, self.dec2 = nn.ConvTranspose2d(64, 32, 2, 2), double_conv(64, 32)
        self.up1, self.dec1 = nn.ConvTranspose2d(32, 16, 2, 2), double_conv(32, 16)
        self.final = nn.Conv2d(16, out_ch, 1)

    def forward(self, x):
        e1 = self.enc1(x)
        e2 = self.enc2(self.pool(e1))
        b = self.bott(self.pool(e2))
        d2 = self.dec2(torch.cat([self.up2(b), e2], 1))
        return self.final(self.dec1(torch.cat([self.up1(d2), e1], 1)))


def sinusoids(length: int, channels: int, max_timescale: float = 10000):
    inc = math.log(max_timescale) / (channels // 2 - 1)
    t = torch.arange(length)[:, None] * torch.exp(-inc * torch.arange(channels // 2))[None, :]
    return torch.cat([torch.sin(t), torch.cos(t)], dim=1)


class WhisperEncoder(nn.Module):
    """Conv1d stem (the second strided), sinusoidal positions, nn.MultiheadAttention."""

    def __init__(self, n_mels: int = 16, dim: int = 64, n: int = 4, frames: int = 64):
        super().__init__()
        self.conv1 = nn.Conv1d(n_mels, dim, 3, padding=1)
        self.conv2 = nn.Conv1d(dim, dim, 3, stride=2, padding=1)
        self.gelu = nn.GELU()
        self.register_buffer("positional_embedding", sinusoids(frames // 2, dim))
        self.attn_ln = nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, n, batch_first=True)
        self.mlp_ln = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))
        self.ln_post = nn.LayerNorm(dim)

    def forward(self, x):
        x = self.gelu(self.conv2(self.gelu(self.conv1(x)))).permute(0, 2, 1)
        x = x + self.positional_embedding
        h = self.attn_ln(x)
        x = x + self.attn(h, h, h, need_weights=False)[0]
        return self.ln_post(x + self.mlp(self.mlp_ln(x)))


class BertLayer(nn.Module):
    def __init__(self, dim: int = 64, n: int = 4, ff: int = 256):
        super().__init__()
        self.n, self.hd = n, dim // n
        self.query, self.key = nn.Linear(dim, dim), nn.Linear(dim, dim)
        self.value, self.attn_out = nn.Linear(dim, dim), nn.Linear(dim, dim)
        self.attn_ln = nn.LayerNorm(dim, eps=1e-12)
        self.intermediate, self.act = nn.Linear(dim, ff), nn.GELU()
        self.output, self.out_ln = nn.Linear(ff, dim), nn.LayerNorm(dim, eps=1e-12)

    def forward(self, h, mask):
        q, k, v = (
            heads(self.query(h), self.n),
            heads(self.key(h), self.n),
            heads(self.value(h), self.n),
        )
        s = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.hd) + mask
        c = torch.matmul(F.softmax(s, dim=-1), v).permute(0, 2, 1, 3).contiguous()
        h = self.attn_ln(self.attn_out(c.view(c.size(0), c.size(1), -1)) + h)
        return self.out_ln(self.output(self.act(self.intermediate(h))) + h)


class BertTokens(nn.Module):
    """int64 token ids and attention mask in: three Gathers, the mask as (1 - m) * -10000."""

    def __init__(self, vocab: int = 100, dim: int = 64, max_pos: int = 32, types: int = 2):
        super().__init__()
        self.word_embeddings = nn.Embedding(vocab, dim)
        self.position_embeddings = nn.Embedding(max_pos, dim)
        self.token_type_embeddings = nn.Embedding(types, dim)
        self.emb_ln = nn.LayerNorm(dim, eps=1e-12)
        self.register_buffer("position_ids", torch.arange(max_pos).view(1, -1), persistent=False)
        self.register_buffer(
            "token_type_ids", torch.zeros(1, max_pos, dtype=torch.long), persistent=False
        )
        self.layers = nn.ModuleList([BertLayer(dim), BertLayer(dim)])
        self.pooler = nn.Linear(dim, dim)
        for e in (self.word_embeddings, self.position_embeddings, self.token_type_embeddings):
            nn.init.normal_(e.weight, std=0.1)

    def forward(self, input_ids, attention_mask):
        s = input_ids.size(1)
        h = self.emb_ln(
            self.word_embeddings(input_ids)
            + self.position_embeddings(self.position_ids[:, :s])
            + self.token_type_embeddings(self.token_type_ids[:, :s])
        )
        mask = (1.0 - attention_mask[:, None, None, :].to(dtype=h.dtype)) * -10000.0
        for layer in self.layers:
            h = layer(h, mask)
        return h, torch.tanh(self.pooler(h[:, 0]))


MODELS: dict[str, type[nn.Module]] = {
    "mobilenet_v3_block": MobileNetV3Block,
    "efficientnet_block": EfficientNetBlock,
    "yolo_like": YoloLike,
    "resnet_basic": ResNetBasic,
    "vit_tiny": ViTTiny,
    "convnext_block": ConvNeXtBlockNet,
    "gpt2_block": GPT2Stack,
    "t5_block": T5Stack,
    "unet_small": UNetSmall,
    "whisper_encoder": WhisperEncoder,
    "bert_tokens": BertTokens,
}
_TOKENS = {"input_ids": Input((1, 16), "int64", 100), "attention_mask": Input((1, 16), "int64", 2)}
INPUTS: dict[str, dict[str, Input]] = {
    "mobilenet_v3_block": {"x": Input((1, 3, 96, 96))},
    "efficientnet_block": {"x": Input((1, 3, 96, 96))},
    "yolo_like": {"x": Input((1, 3, 128, 128))},
    "resnet_basic": {"x": Input((1, 3, 112, 112))},
    "vit_tiny": {"x": Input((1, 3, 64, 64))},
    "convnext_block": {"x": Input((1, 3, 64, 64))},
    "gpt2_block": {"x": Input((1, 16, 64))},
    "t5_block": {"x": Input((1, 16, 64))},
    "unet_small": {"x": Input((1, 3, 64, 64))},
    "whisper_encoder": {"x": Input((1, 16, 64))},
    "bert_tokens": _TOKENS,
}
OUTPUTS = {"bert_tokens": ["last_hidden_state", "pooler_output"]}


def random_inputs(name: str, rng: np.random.Generator, scale: float = 1.0) -> dict:
    """Feeds for `name`: normals times `scale`; token ids below their bound and an attention
    mask whose first two positions are kept (a padded sequence, never an empty one)."""
    feeds = {}
    for key, spec in INPUTS[name].items():
        if spec.dtype == "int64":
            feeds[key] = rng.integers(0, spec.high, spec.shape).astype(np.int64)
        else:
            feeds[key] = (rng.standard_normal(spec.shape) * scale).astype(np.float32)
    if "attention_mask" in feeds:
        feeds["attention_mask"][..., :2] = 1
    return feeds


@torch.no_grad()
def trained_norms(model: nn.Module, inputs: dict[str, Input]) -> None:
    """Norm parameters away from 1 and 0, and BatchNorm statistics as training leaves them: the
    average over a few random batches, perturbed so that they are not exactly those batches'."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.weight.uniform_(0.5, 1.5)
            m.bias.normal_(0.0, 0.1)
        elif isinstance(m, nn.LayerNorm):
            m.weight.uniform_(0.7, 1.3)
            m.bias.normal_(0.0, 0.05)
        elif isinstance(m, T5LayerNorm):
            m.weight.uniform_(0.7, 1.3)
    norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    if not norms:
        return
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # a cumulative average
    model.train()
    for _ in range(4):
        model(**{key: torch.randn([4, *spec.shape[1:]]) for key, spec in inputs.items()})
    for m in norms:
        m.running_mean.add_(torch.randn_like(m.running_mean) * 0.05 * m.running_var.sqrt())
        m.running_var.mul_(torch.empty_like(m.running_var).uniform_(0.8, 1.25))


def build(name: str) -> nn.Module:
    """`name`'s module in eval mode, seeded by its name (the same weights in any order)."""
    torch.set_num_threads(1)
    torch.manual_seed(int(hashlib.sha256(name.encode()).hexdigest()[:8], 16) % 2**31)
    model = MODELS[name]()
    trained_norms(model, INPUTS[name])
    # Parameters keep requires_grad, as in a training script: with all of them frozen,
    # nn.MultiheadAttention takes its fused path, which the TorchScript exporter cannot export.
    return model.eval()


@functools.cache
def _exported(name: str, exporter: str) -> bytes:
    model, inputs = build(name), INPUTS[name]
    args = tuple(
        torch.zeros(spec.shape, dtype=getattr(torch, spec.dtype)) for spec in inputs.values()
    )
    names = {"input_names": list(inputs), "output_names": OUTPUTS.get(name, ["y"])}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation, torch.export's
        if exporter == "ts":
            buffer = io.BytesIO()
            torch.onnx.export(model, args, buffer, dynamo=False, opset_version=17, **names)
            proto = onnx.load_from_string(buffer.getvalue())
        else:
            proto = torch.onnx.export(model, args, dynamo=True, verbose=False, **names).model_proto
    # torch 2.13 writes 8 (TorchScript) and 10 (dynamo); at most 10 should a newer one write more
    proto.ir_version = min(proto.ir_version, 10)
    return proto.SerializeToString()


def export(name: str, exporter: str) -> onnx.ModelProto:
    """`name` exported by torch.onnx.export's TorchScript ("ts") or dynamo exporter: static
    shapes, batch 1, weights as initializers. Exported once per process; each call returns a
    fresh copy."""
    return onnx.load_from_string(_exported(name, exporter))
