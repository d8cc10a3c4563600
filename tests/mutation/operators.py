"""Mutation operators for the student functions of a solution notebook (libcst).

Each operator looks at one node of the solution region (``### BEGIN SOLUTION`` .. ``### END SOLUTION``) and
proposes replacements for it. The operators are the mistakes students make in tensor code (see issue 17): dropping
``zero_grad`` / ``detach`` / ``clone`` / ``no_grad`` / ``eval()``, swapping ``abs`` and a reduction, another
``dim`` / ``keepdim``, ``sum`` <-> ``mean``, off-by-one counts, a flipped sign, logit <-> probability <-> loss,
in-place work on an argument, a hard-coded size, a dropped normalisation, a squared scale, cleanup outside
``finally``, a result with gradient history, an argument replaced by a constant, plus mutmut's classics
(comparisons, dropped ``raise`` / ``break``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator

import libcst as cst
from libcst.metadata import PositionProvider

REDUCTIONS = {"sum": "mean", "mean": "sum", "amax": "amin", "amin": "amax", "max": "min", "min": "max",
              "norm": "sum"}
DROPPABLE_CALLS = ("detach", "clone", "eval", "requires_grad_", "zero_grad", "contiguous")
SIZE_CONSTANTS = (1, 3, 10)
TENSOR_ARGUMENTS = ("images", "image", "x", "X", "img", "input_image")
CONSTANTS = {"target": "0", "target_y": "0", "target_class": "0", "intended_outcome": "0", "label": "0",
             "y": "0", "targets": "0", "steps": "10", "n_steps": "10", "num_steps": "10", "epoch": "10",
             "iteration": "100", "step_size": "1", "eps": "0.1", "lr": "1", "l2_reg": "0", "learning_rate": "1",
             "filterid": "0", "cnnid": "6", "layer": "-1", "select_word_index": "0",
             "param_sigma_multiplier": "0.1", "batch_size": "32", "classes": "None"}


def expr(code: str) -> cst.BaseExpression:
    return cst.parse_expression(code)


def code_of(node: cst.CSTNode) -> str:
    return cst.Module([]).code_for_node(node)


def _attr_call(node: cst.CSTNode, name: str | None = None) -> bool:
    return (isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute)
            and (name is None or node.func.attr.value == name))


def _call_name(node: cst.Call) -> str:
    f = node.func
    return f.attr.value if isinstance(f, cst.Attribute) else f.value if isinstance(f, cst.Name) else ""


# --------------------------------------------------------------------------------------------------- expressions
def op_drop_method(node):
    """``x.detach()`` -> ``x`` (and clone, eval, requires_grad_, zero_grad, contiguous)."""
    if _attr_call(node) and node.func.attr.value in DROPPABLE_CALLS:
        yield f"drop .{node.func.attr.value}()", node.func.value


def op_swap_abs_reduction(node):
    """``g.abs().amax(dim=1)`` -> ``g.amax(dim=1).abs()``."""
    if _attr_call(node) and node.func.attr.value in REDUCTIONS and _attr_call(node.func.value, "abs"):
        inner = node.func.value.func.value
        reduced = node.with_changes(func=node.func.with_changes(value=inner))
        yield "abs after the reduction", cst.Call(func=cst.Attribute(value=reduced, attr=cst.Name("abs")))


def op_reduction(node):
    """``sum`` <-> ``mean``, ``amax`` <-> ``amin``, ... on a method call."""
    if _attr_call(node) and node.func.attr.value in REDUCTIONS:
        other = REDUCTIONS[node.func.attr.value]
        yield f"{node.func.attr.value} -> {other}", node.with_changes(
            func=node.func.with_changes(attr=cst.Name(other)))


def op_dim(node):
    """Another ``dim`` (int or tuple) / ``keepdim`` on a call; a dropped ``dim``."""
    if not isinstance(node, cst.Call):
        return
    for i, arg in enumerate(node.args):
        kw = arg.keyword.value if arg.keyword else None
        if kw == "keepdim" and isinstance(arg.value, cst.Name):
            flipped = "False" if arg.value.value == "True" else "True"
            yield f"keepdim={flipped}", _replace_arg(node, i, arg.with_changes(value=cst.Name(flipped)))
        if kw == "dim":
            value = code_of(arg.value)
            for other in ("0", "1", "-1", "(1, 2)", "(2, 3)"):
                if other.replace(" ", "") != value.replace(" ", ""):
                    yield f"dim={value} -> {other}", _replace_arg(node, i, arg.with_changes(value=expr(other)))
            yield f"drop dim={value}", node.with_changes(args=[a for j, a in enumerate(node.args) if j != i])


def _replace_arg(node: cst.Call, i: int, new: cst.Arg) -> cst.Call:
    return node.with_changes(args=[new if j == i else a for j, a in enumerate(node.args)])


def op_reduction_keyword(node):
    """``reduction="sum"`` <-> ``"mean"``."""
    if isinstance(node, cst.Call):
        for i, arg in enumerate(node.args):
            if arg.keyword and arg.keyword.value == "reduction" and isinstance(arg.value, cst.SimpleString):
                other = '"mean"' if "sum" in arg.value.value else '"sum"'
                yield f"reduction={other}", _replace_arg(node, i, arg.with_changes(value=expr(other)))


def op_off_by_one(node):
    """``range`` / ``arange`` / ``linspace`` arguments +- 1."""
    if isinstance(node, cst.Call) and _call_name(node) in ("range", "arange", "linspace"):
        for i, arg in enumerate(node.args):
            if arg.keyword:
                continue
            for sign in ("+", "-"):
                new = expr(f"({code_of(arg.value)}) {sign} 1")
                yield f"{_call_name(node)} arg {i} {sign} 1", _replace_arg(node, i, arg.with_changes(value=new))


def op_binary(node):
    """Flip a sign (+ <-> -), drop a normalisation (a / b -> a), square a scale (a / b -> a / b ** 2,
    s * a -> s ** 2 * a), drop a ``+ 1`` / ``- 1`` (off by one)."""
    if not isinstance(node, cst.BinaryOperation):
        return
    op = node.operator
    if isinstance(op, cst.Add):
        yield "+ -> -", node.with_changes(operator=cst.Subtract())
    elif isinstance(op, cst.Subtract):
        yield "- -> +", node.with_changes(operator=cst.Add())
        if not isinstance(node.left, (cst.Integer, cst.Float)):
            yield "drop the subtracted term", node.left
    elif isinstance(op, cst.Divide):
        yield "drop a normalisation", node.left
        yield "square the divisor", node.with_changes(right=expr(f"({code_of(node.right)}) ** 2"))
    elif isinstance(op, cst.Multiply) and isinstance(node.left, (cst.Name, cst.Attribute)):
        yield "square the scale", node.with_changes(left=expr(f"({code_of(node.left)}) ** 2"))
    if isinstance(op, (cst.Add, cst.Subtract)) and isinstance(node.right, cst.Integer) and node.right.value == "1":
        yield "off by one (drop +-1)", node.left


def op_unary(node):
    """``-x`` -> ``x``."""
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus):
        yield "drop a minus", node.expression


def op_comparison(node):
    """``<`` <-> ``<=``, ``>`` <-> ``>=``, ``==`` <-> ``!=``."""
    if isinstance(node, cst.Comparison) and len(node.comparisons) == 1:
        swap = {cst.LessThan: cst.LessThanEqual, cst.LessThanEqual: cst.LessThan, cst.GreaterThan: cst.GreaterThanEqual,
                cst.GreaterThanEqual: cst.GreaterThan, cst.Equal: cst.NotEqual, cst.NotEqual: cst.Equal}
        target = node.comparisons[0]
        new = swap.get(type(target.operator))
        if new:
            yield f"comparison -> {new.__name__}", node.with_changes(
                comparisons=[target.with_changes(operator=new())])


def op_probability(node):
    """logit <-> probability <-> loss: drop ``.softmax``, log-softmax instead, softmax on a model's logits,
    cross-entropy replaced by the negative logit (``nll_loss`` on logits)."""
    if _attr_call(node, "softmax"):
        yield "logit instead of probability", node.func.value
        yield "log-probability instead of probability", node.with_changes(
            func=node.func.with_changes(attr=cst.Name("log_softmax")))
    if isinstance(node, cst.Call) and _call_name(node) == "cross_entropy":
        yield "negative logit instead of the loss", node.with_changes(
            func=node.func.with_changes(attr=cst.Name("nll_loss")) if isinstance(node.func, cst.Attribute)
            else cst.Name("nll_loss"))
    if isinstance(node, cst.Call) and code_of(node.func) in ("model", "self.model") and node.args:
        yield "probability instead of logit", expr(f"{code_of(node)}.softmax(dim=1)")


def op_size(node):
    """Hard-code a size: ``x.shape[i]`` / ``len(x)`` -> 1, 3 or 10."""
    is_shape = (isinstance(node, cst.Subscript) and isinstance(node.value, cst.Attribute)
                and node.value.attr.value == "shape")
    is_len = isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value == "len"
    if is_shape or is_len:
        for k in SIZE_CONSTANTS:
            yield f"hard-code {code_of(node)} = {k}", cst.Integer(str(k))


def op_history(node):
    """``torch.autograd.grad(a, b)`` -> ``..., create_graph=True``: a result with gradient history."""
    if isinstance(node, cst.Call) and code_of(node.func).endswith("autograd.grad"):
        yield "create_graph=True (result keeps gradient history)", node.with_changes(
            args=[*node.args[:-1], node.args[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT),
                  cst.Arg(keyword=cst.Name("create_graph"), value=cst.Name("True"))])


def op_clamp(node):
    """Drop a ``clamp`` / ``clamp_min`` (a forgotten clip)."""
    if _attr_call(node) and node.func.attr.value in ("clamp", "clamp_min"):
        yield f"drop .{node.func.attr.value}()", node.func.value


def op_sign(node):
    """``g.sign()`` -> ``g`` (the gradient instead of its sign)."""
    if _attr_call(node, "sign"):
        yield "gradient instead of its sign", node.func.value


EXPRESSION_OPERATORS: tuple[Callable, ...] = (
    op_drop_method, op_swap_abs_reduction, op_reduction, op_dim, op_reduction_keyword, op_off_by_one, op_binary,
    op_unary, op_comparison, op_probability, op_size, op_history, op_clamp, op_sign)


# ---------------------------------------------------------------------------------------------------- statements
def op_statement(node):
    """Statement-level: drop a ``raise`` (an unchecked input rule), drop a ``break``, drop ``zero_grad()`` /
    ``eval()`` statements, ``with torch.no_grad():`` -> its body, ``try/finally`` -> body then cleanup (not on the
    error path), ``autograd.grad`` -> ``.backward()`` + ``.grad`` (gradients accumulate on the parameters)."""
    if isinstance(node, cst.If) and _only_raises(node.body) and node.orelse is None:
        yield "drop an input check", cst.FlattenSentinel([])
    if isinstance(node, cst.SimpleStatementLine):
        small = node.body[0] if len(node.body) == 1 else None
        if isinstance(small, cst.Break):
            yield "drop the break", cst.FlattenSentinel([])
        if isinstance(small, cst.Expr) and _attr_call(small.value) and small.value.func.attr.value in (
                "zero_grad", "eval", "remove", "step"):
            yield f"drop {code_of(small.value)}", cst.FlattenSentinel([])
        if (isinstance(small, cst.Assign) and isinstance(small.value, cst.Call)
                and code_of(small.value.func).endswith("autograd.grad") and len(small.value.args) == 2):
            objective, wrt = (code_of(a.value) for a in small.value.args)
            target = code_of(small.targets[0].target)
            grad = target.strip("()[], ")
            yield "backward() + .grad instead of autograd.grad", cst.FlattenSentinel(cst.parse_module(
                f"{wrt}.grad = None\n{objective}.backward()\n{grad} = {wrt}.grad\n").body)
    if isinstance(node, cst.With) and "no_grad" in code_of(node.items[0].item):
        yield "drop torch.no_grad()", cst.FlattenSentinel(list(node.body.body))
    if isinstance(node, cst.Try) and node.finalbody is not None and not node.handlers:
        yield "cleanup outside finally", cst.FlattenSentinel([*node.body.body, *node.finalbody.body.body])


def _only_raises(block) -> bool:
    stmts = block.body
    return (len(stmts) == 1 and isinstance(stmts[0], cst.SimpleStatementLine)
            and isinstance(stmts[0].body[0], cst.Raise))


# ----------------------------------------------------------------------------------------------------- the engine
@dataclass(frozen=True)
class Mutant:
    function: str       # the student function (solution cell) mutated
    operator: str       # which operator
    description: str    # what changed, e.g. "dim=1 -> 0"
    line: int           # line in the cell
    original: str       # the code before
    source: str         # the whole mutated cell

    @property
    def id(self) -> str:
        return f"{self.function}:{self.line}:{self.description}"


class _Sites(cst.CSTVisitor):
    METADATA_DEPENDENCIES = (PositionProvider,)

    def __init__(self, lines: range, params: dict[str, list[str]]):
        self.lines, self.params, self.sites = lines, params, []
        self.function: str | None = None

    def on_visit(self, node):
        if isinstance(node, cst.FunctionDef):
            self.function = node.name.value
        pos = self.get_metadata(PositionProvider, node, None)
        if pos is not None and pos.start.line in self.lines and pos.end.line in self.lines:
            operators = (op_statement,) if isinstance(node, (cst.If, cst.SimpleStatementLine, cst.With, cst.Try)) \
                else EXPRESSION_OPERATORS
            for operator in operators:
                for k, (desc, _) in enumerate(operator(node)):
                    self.sites.append((pos.start.line, (pos.start.column, pos.end.line, pos.end.column), type(node).__name__, operator.__name__, k,
                                       desc, code_of(node)))
        if isinstance(node, cst.FunctionDef) and pos is not None:
            first = self.first_statement(node)
            for name in self.params.get(node.name.value, ()):
                self.sites.append((pos.start.line, (pos.start.column, pos.end.line, pos.end.column), "FunctionDef", "op_constant", 0,
                                   f"argument {name} -> constant", name))
                if name in TENSOR_ARGUMENTS and first is not None:
                    self.sites.append((pos.start.line, (pos.start.column, pos.end.line, pos.end.column), "FunctionDef", "op_inplace", 0,
                                       f"{name}.requires_grad_(True) on the caller's tensor", name))
        return True

    def first_statement(self, fn):
        for stmt in fn.body.body:
            pos = self.get_metadata(PositionProvider, stmt, None)
            if pos is not None and pos.start.line in self.lines:
                return stmt
        return None


class _Apply(cst.CSTTransformer):
    METADATA_DEPENDENCIES = (PositionProvider,)

    def __init__(self, site, lines):
        self.site, self.lines = site, lines

    def on_leave(self, original, updated):
        pos = self.get_metadata(PositionProvider, original, None)
        line, col, kind, operator, k = self.site[:5]
        if pos is None or (pos.start.line, (pos.start.column, pos.end.line, pos.end.column)) != (line, col) \
                or type(original).__name__ != kind:
            return updated
        if operator in ("op_constant", "op_inplace"):
            inside = [self.get_metadata(PositionProvider, st).start.line in self.lines for st in original.body.body]
            return _argument_mutant(original, self.site[6], operator, inside)
        return list(globals()[operator](original))[k][1]


class _Uses(cst.CSTTransformer):
    """Replace every load of ``name`` (not a call, attribute or subscript base) by ``constant``."""

    def __init__(self, name, constant):
        self.name, self.constant, self.protect = name, constant, set()

    def visit_Call(self, node):
        self.protect.add(id(node.func))

    def visit_Attribute(self, node):
        self.protect.add(id(node.value))

    def visit_Subscript(self, node):
        self.protect.add(id(node.value))

    def visit_AssignTarget(self, node):
        self.protect.add(id(node.target))

    def visit_Param(self, node):
        self.protect.add(id(node.name))

    def visit_Arg(self, node):
        if node.keyword is not None:
            self.protect.add(id(node.keyword))

    def leave_Name(self, original, updated):
        if original.value == self.name and id(original) not in self.protect:
            return expr(self.constant)
        return updated


def _argument_mutant(fn: cst.FunctionDef, name: str, operator: str, inside: list[bool]) -> cst.FunctionDef:
    body = list(fn.body.body)
    if operator == "op_inplace":
        # insert before the first statement of the solution region (its leading comment carries the marker)
        i = inside.index(True)
        first = body[i]
        lead = first.leading_lines if hasattr(first, "leading_lines") else ()
        stmt = cst.parse_statement(f"{name}.requires_grad_(True)")
        body[i:i + 1] = [stmt.with_changes(leading_lines=lead), first.with_changes(leading_lines=())]
    else:
        body = [st.visit(_Uses(name, CONSTANTS.get(name, "1"))) if flag else st for st, flag in zip(body, inside)]
    return fn.with_changes(body=fn.body.with_changes(body=body))


def region_lines(source: str) -> range:
    """1-based lines strictly between the first ``### BEGIN SOLUTION`` and its ``### END SOLUTION``."""
    lines = source.split("\n")
    begin = next(i for i, l in enumerate(lines) if "### BEGIN SOLUTION" in l)
    end = next(i for i, l in enumerate(lines) if "### END SOLUTION" in l and i > begin)
    return range(begin + 2, end + 1)


def mutants_of(function: str, source: str) -> Iterator[Mutant]:
    """Every mutant of one solution cell (mutating only its solution region), each one valid Python."""
    module = cst.parse_module(source)
    wrapper = cst.MetadataWrapper(module)
    params = {f.name.value: [p.name.value for p in f.params.params if p.name.value != "self"]
              for f in _functions(module)}
    visitor = _Sites(region_lines(source), params)
    wrapper.visit(visitor)
    seen = set()
    for site in visitor.sites:
        try:
            new = wrapper.visit(_Apply(site, visitor.lines)).code
            compile(new, function, "exec")
        except (SyntaxError, ValueError, IndexError, cst.CSTValidationError):  # an operator that does not apply here
            continue
        if new == source or new in seen:
            continue
        seen.add(new)
        yield Mutant(function, site[3][3:], site[5], site[0], site[6], new)


def _functions(module):
    found = []

    class V(cst.CSTVisitor):
        def visit_FunctionDef(self, node):
            found.append(node)

    module.visit(V())
    return found
