"""torch's vocabulary as devlint reads it: factories, tensor-only attributes and methods, and small CST helpers.

The resolver (`values.py`) and the sibling search (`siblings.py`) read these tables; they are data so that a
reviewer can check them against torch's API in one place.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Sequence

import libcst as cst

from devlint.analysis.cst_util import code_of
from devlint.analysis.walk import child_nodes

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
        if arg.star:
            continue
        value = arg.value
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
    stack = [haystack]
    while stack:
        current = stack.pop()
        if current is needle:
            return True
        if not isinstance(current, cst.Lambda):
            stack.extend(child_nodes(current))
    return False


