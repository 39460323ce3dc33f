"""torch's vocabulary as devlint reads it: factories, tensor-only attributes and methods, and small CST helpers.

The resolver (`values.py`) and the sibling search (`siblings.py`) read these tables; they are data so that a
reviewer can check them against torch's API in one place.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Sequence

import libcst as cst

from devlint.analysis.cst_util import code_of
from devlint.analysis.walk import child_nodes, contains

TORCH_FACTORIES = frozenset({
    "arange", "zeros", "ones", "empty", "full", "rand", "randn", "randint", "randperm", "linspace",
    "logspace", "eye", "tensor", "as_tensor", "asarray", "empty_strided", "tril_indices", "triu_indices",
    "range", "scalar_tensor", "sparse_coo_tensor", "normal", "bernoulli", "complex", "polar",
})
LIKE_FACTORIES = frozenset({"zeros_like", "ones_like", "empty_like", "full_like", "rand_like", "randn_like",
                            "randint_like"})
NEW_METHODS = frozenset({"new_zeros", "new_ones", "new_empty", "new_full", "new_tensor", "new_empty_strided"})

# torch.<name> calls that do not return a tensor (or return several): never a tensor sibling.
NON_TENSOR_TORCH = frozenset({
    "device", "dtype", "Size", "Generator", "finfo", "iinfo", "no_grad", "enable_grad", "inference_mode",
    "compile", "manual_seed", "seed", "numel", "typename", "autocast", "empty_cache", "load", "save",
    "chunk", "split", "unbind", "tensor_split", "sort", "topk", "meshgrid", "broadcast_tensors",
    "broadcast_shapes", "result_type", "promote_types", "can_cast", "use_deterministic_algorithms",
    "from_numpy", "stream", "library", "Stream", "Event",
})
TENSOR_SUBMODULES = ("torch.nn.functional.", "torch.linalg.", "torch.fft.", "torch.special.")
TENSOR_CLASSES = frozenset({"torch.nn.Parameter", "torch.nn.parameter.Parameter", "torch.Tensor"})

# Tensor methods that do not return a tensor.
NON_TENSOR_METHODS = frozenset({
    "size", "dim", "ndimension", "numel", "nelement", "item", "tolist", "stride", "storage_offset",
    "data_ptr", "element_size", "is_contiguous", "is_floating_point", "is_complex", "is_pinned",
    "is_shared", "get_device", "untyped_storage", "storage", "numpy", "type", "equal", "chunk", "split",
    "unbind", "tensor_split", "split_with_sizes", "register_hook", "backward", "__len__", "is_set_to",
    "nbytes", "itemsize", "dim_order",
})
SEQUENCE_METHODS = frozenset({"chunk", "split", "unbind", "tensor_split", "split_with_sizes", "sort", "topk",
                              "max", "min", "median", "mode", "kthvalue", "unique", "unique_consecutive"})
SEQUENCE_TORCH = frozenset({"chunk", "split", "unbind", "tensor_split", "sort", "topk", "meshgrid",
                            "broadcast_tensors", "unique"})
# Methods whose result lives on another device than their receiver: the receiver's device says nothing.
MOVING_METHODS = frozenset({"to", "cuda", "cpu", "xpu", "npu", "hpu", "mps", "to_empty", "pin_memory"})
# Tensor methods that read only another tensor's shape or type, or move to it: no device mixing.
NON_MIXING_METHODS = frozenset({"to", "type_as", "expand_as", "view_as", "reshape_as", "new_zeros",
                                "new_ones", "new_empty", "new_full", "new_tensor", "new_empty_strided",
                                "size", "dim", "numel", "register_buffer", "register_parameter",
                                "append", "extend", "get", "setdefault", "update", "pop", "add",
                                "format", "join", "startswith", "endswith", "split"})
TENSOR_ATTRIBUTES = frozenset({"T", "mT", "H", "mH", "data", "grad", "real", "imag"})
# Methods that only view or convert a tensor: onloading a view of a weight is still onloading the weight.
VIEW_METHODS = frozenset({
    "view", "reshape", "t", "transpose", "permute", "contiguous", "detach", "squeeze", "unsqueeze", "flatten",
    "expand", "narrow", "float", "half", "bfloat16", "double", "int", "long", "bool", "to", "type", "clone",
    "pin_memory", "view_as", "reshape_as", "unflatten", "chunk", "split", "unbind",
})

SHAPE_ATTRIBUTES = frozenset({"shape", "dtype", "ndim"})
SHAPE_METHODS = frozenset({"size", "numel", "dim", "stride", "nelement"})

# The factories whose device can be given by position (`torch.as_tensor(data, dtype, device)`).
POSITIONAL_DEVICE_SLOT = {"as_tensor": 2}

# Evidence from use: attributes and methods that only a tensor has (an unannotated parameter read as
# `x.shape` or `x.view(...)` is a tensor). Methods that modules share (`.to`, `.cuda`, `.half`, `.float`) are
# not evidence; numpy arrays share `.shape`/`.dtype`, and mixing one with a tensor is no device bug anyway.
TENSOR_ONLY_ATTRIBUTES = frozenset({"shape", "dtype", "device", "is_cuda", "is_meta", "grad_fn", "requires_grad",
                                    "is_sparse", "layout"})
TENSOR_ONLY_METHODS = frozenset({
    "view", "contiguous", "numel", "size", "dim", "unsqueeze", "squeeze", "permute", "transpose",
    "masked_fill", "masked_fill_", "index_select", "index_put_", "index_add_", "index_copy_", "scatter_",
    "scatter", "scatter_add_", "gather", "copy_", "fill_", "zero_", "new_zeros", "new_ones", "new_empty",
    "new_full", "new_tensor", "expand", "expand_as", "view_as", "reshape_as", "type_as", "data_ptr",
    "element_size", "is_contiguous", "narrow", "unflatten", "flatten", "cumsum", "argmax", "argmin",
    "softmax", "log_softmax", "clamp", "clamp_", "clamp_min", "clamp_max", "sigmoid", "relu", "exp", "pow",
    "sqrt", "rsqrt", "masked_scatter_", "bmm", "matmul", "mm", "repeat_interleave", "chunk",
    "unbind", "t", "mul_", "add_", "sub_", "div_", "long", "int", "bool", "item", "tolist", "detach",
    "clone", "stride", "storage_offset", "untyped_storage", "pin_memory", "is_pinned", "nonzero", "topk",
    "roll", "flip", "tril", "triu", "masked_select", "any", "all", "abs", "amax", "amin", "isinf", "isnan",
    "isfinite", "logical_or", "logical_and", "logical_not", "nan_to_num", "half_", "record_stream",
})
# Attributes and methods a tensor has (generously): reading anything else on an object (`config.hidden_size`)
# shows it is no tensor, so its `.dtype` or `.shape` is no evidence.
TENSOR_API = frozenset({
    "T", "mT", "H", "mH", "data", "grad", "real", "imag", "ndim", "is_leaf", "names", "itemsize", "nbytes",
    "abs", "abs_", "add", "addmm", "all", "allclose", "amax", "amin", "any", "apply_", "argmax", "argmin",
    "argsort", "backward", "baddbmm", "bfloat16", "bmm", "bool", "byte", "ceil", "char", "chunk", "clamp",
    "clamp_", "clamp_max", "clamp_min", "clip", "clone", "contiguous", "copy_", "cos", "cpu", "cuda", "cumprod",
    "cumsum", "data_ptr", "detach", "detach_", "diag", "diagonal", "dim", "div", "div_", "double", "dtype",
    "element_size", "eq", "equal", "erf", "exp", "exp_", "expand", "expand_as", "exponential_", "fill_",
    "fill_diagonal_", "flatten", "flip", "float", "floor", "fmod", "gather", "ge", "get_device", "gt", "half",
    "index_add", "index_add_", "index_copy_", "index_fill_", "index_put_", "index_select", "int", "is_complex",
    "is_contiguous", "is_floating_point", "is_pinned", "is_shared", "isfinite", "isinf", "isnan", "item",
    "le", "lerp_", "log", "log_softmax", "logical_and", "logical_not", "logical_or", "long", "lt", "masked_fill",
    "masked_fill_", "masked_scatter_", "masked_select", "matmul", "max", "mean", "median", "min", "mm", "mul",
    "mul_", "nan_to_num", "narrow", "ne", "neg", "new", "new_empty", "new_full", "new_ones", "new_tensor",
    "new_zeros", "nonzero", "norm", "normal_", "numel", "numpy", "permute", "pin_memory", "pow", "prod",
    "random_", "reciprocal", "record_stream", "relu", "remainder", "repeat", "repeat_interleave",
    "requires_grad_", "reshape", "reshape_as", "resize_", "retain_grad", "roll", "round", "rsqrt", "scatter",
    "scatter_", "scatter_add", "scatter_add_", "select", "sigmoid", "sign", "sin", "size", "softmax", "sort",
    "split", "sqrt", "square", "squeeze", "squeeze_", "std", "storage", "storage_offset", "stride", "sub",
    "sub_", "sum", "t", "t_", "tanh", "to", "tolist", "topk", "transpose", "transpose_", "tril", "triu",
    "true_divide", "trunc", "type", "type_as", "unbind", "unflatten", "unfold", "uniform_", "unique",
    "unsqueeze", "unsqueeze_", "untyped_storage", "var", "view", "view_as", "where", "xpu", "npu", "zero_",
    "shape", "device", "is_cuda", "is_meta", "grad_fn", "requires_grad", "is_sparse", "layout", "is_cpu",
    "is_quantized", "q_scale", "q_zero_point", "dequantize", "float8_e4m3fn", "sum_to_size", "addcmul_",
    "addcdiv_", "add_", "bitwise_and", "bitwise_or", "bitwise_not", "ravel", "movedim", "swapaxes",
    "split_with_sizes", "tensor_split", "count_nonzero", "log_", "exp2", "sqrt_", "floor_divide", "__getitem__", "__setitem__", "__len__", "__class__", "_version", "to_dense", "coalesce",
})

# A receiver of these is a module, a callable or a container, whatever else it is used as.
CONTRA_TENSOR_METHODS = frozenset({
    "parameters", "named_parameters", "buffers", "named_buffers", "modules", "named_modules", "children",
    "eval", "train", "state_dict", "load_state_dict", "forward", "apply", "register_forward_hook",
    "register_module", "keys", "values", "items", "append", "extend", "get", "pop", "update", "add_module",
    "encode", "decode", "lower", "upper", "startswith", "endswith", "join", "format", "strip", "replace",
})


class FactoryKind(str, enum.Enum):
    """How a call makes a new tensor."""

    FACTORY = "factory"  # torch.zeros(...), torch.arange(...): placed by `device=` or the ambient default
    LIKE = "like"  # torch.zeros_like(x): follows x unless `device=` overrides it
    NEW = "new"  # x.new_zeros(...): follows x unless `device=` overrides it


__all__ = ["code_of"]  # re-exported: the analysis modules read their vocabulary and helpers from here


def flatten_operands(args: Sequence[cst.Arg]) -> Iterator[cst.BaseExpression]:
    """Argument values, with list/tuple displays opened up (`torch.cat((a, b))` meets a and b)."""
    for arg in args:
        if not arg.star:
            yield from opened(arg.value)


def opened(value: cst.BaseExpression) -> Iterator[cst.BaseExpression]:
    """The elements of a list or tuple display, or the value itself."""
    if isinstance(value, (cst.List, cst.Tuple)):
        for element in value.elements:
            if isinstance(element, cst.Element):
                yield element.value
    else:
        yield value


def subscript_indices(node: cst.Subscript) -> Iterator[cst.BaseExpression]:
    for element in node.slice:
        if isinstance(element.slice, cst.Index):
            yield element.slice.value


def iter_names(node: cst.CSTNode) -> Iterator[cst.Name]:
    """Names read inside an expression (attribute names and lambda bodies excluded)."""
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, cst.Name):
            yield current
        elif isinstance(current, cst.Attribute):
            stack.append(current.value)
        elif isinstance(current, cst.Lambda):
            continue
        else:
            stack.extend(child_nodes(current))


def contains_node(haystack: cst.CSTNode, needle: cst.CSTNode) -> bool:
    """Is `needle` in `haystack`, outside lambdas (a lambda's body runs elsewhere)?"""
    return contains(haystack, needle, skip=(cst.Lambda,))


