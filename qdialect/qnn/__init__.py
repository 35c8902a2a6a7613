"""The `qnn` dialect: the quantized ops qdialect executes (DESIGN §1)."""

from xdsl.ir import Dialect

from qdialect.qnn.col2im import Col2ImOp
from qdialect.qnn.compute import AvgPool2DOp, ConcatOp, Conv2DOp, DotOp, MaxPool2DOp
from qdialect.qnn.dynamic import (
    DynamicConv2DOp,
    DynamicDotOp,
    DynamicQuantizeOp,
    RuntimeDequantizeOp,
    RuntimeQuantizeOp,
)
from qdialect.qnn.elementwise import (
    AddOp,
    ClampOp,
    DequantizeOp,
    FakeQuantOp,
    MulOp,
    QuantizeOp,
    ReluOp,
    RequantizeOp,
)
from qdialect.qnn.float_math import (
    BatchNormOp,
    CastOp,
    FloatBinary,
    FloatBinaryOp,
    LayerNormOp,
    LayerNormStatsOp,
    LrnOp,
    ReduceOp,
    Reduction,
    RotaryOp,
    RoundOp,
)
from qdialect.qnn.logical import (
    ArgKind,
    ArgReduceOp,
    BroadcastOp,
    CompareOp,
    Comparison,
    CumSumOp,
    IntegerArithmetic,
    IntegerBinaryOp,
    Logical,
    LogicalOp,
    SelectOp,
    TopKOp,
)
from qdialect.qnn.modes import Activation, Layout, PadMode, RequantMode, RoundMode
from qdialect.qnn.movement import GatherOp, PadOp, SliceOp, TransposeOp
from qdialect.qnn.observe import HistogramOp, HistogramRule, ObserveOp
from qdialect.qnn.pool3d import Pool3DOp
from qdialect.qnn.resize import GridSampleOp, ResizeBilinearOp, ResizeCubicOp
from qdialect.qnn.scaled import (
    ScaledConcatOp,
    ScaledConv2DOp,
    ScaledDequantizeOp,
    ScaledDotOp,
    ScaledQuantizeOp,
)
from qdialect.qnn.table import ActivationOp, SoftmaxOp, TableOp, UnaryFunction
from qdialect.qnn.weight_only import WeightOnlyDotOp

QNN = Dialect(
    "qnn",
    [
        QuantizeOp,
        DequantizeOp,
        RequantizeOp,
        AddOp,
        MulOp,
        ClampOp,
        ReluOp,
        FakeQuantOp,
        TableOp,
        ActivationOp,
        SoftmaxOp,
        Conv2DOp,
        DotOp,
        Col2ImOp,
        ConcatOp,
        MaxPool2DOp,
        AvgPool2DOp,
        TransposeOp,
        PadOp,
        SliceOp,
        GatherOp,
        LogicalOp,
        SelectOp,
        BroadcastOp,
        CompareOp,
        IntegerBinaryOp,
        CumSumOp,
        ArgReduceOp,
        TopKOp,
        ResizeBilinearOp,
        ResizeCubicOp,
        GridSampleOp,
        ObserveOp,
        HistogramOp,
        DynamicQuantizeOp,
        DynamicDotOp,
        DynamicConv2DOp,
        RuntimeQuantizeOp,
        RuntimeDequantizeOp,
        FloatBinaryOp,
        LayerNormOp,
        LayerNormStatsOp,
        LrnOp,
        Pool3DOp,
        RotaryOp,
        BatchNormOp,
        ReduceOp,
        RoundOp,
        CastOp,
        ScaledQuantizeOp,
        ScaledDequantizeOp,
        ScaledConv2DOp,
        ScaledDotOp,
        ScaledConcatOp,
        WeightOnlyDotOp,
    ],
    [],
)

__all__ = [op.__name__ for op in QNN.operations] + [
    "QNN",
    "Activation",
    "ArgKind",
    "FloatBinary",
    "HistogramRule",
    "Layout",
    "Comparison",
    "IntegerArithmetic",
    "Logical",
    "PadMode",
    "Reduction",
    "RequantMode",
    "RoundMode",
    "UnaryFunction",
]
