from . import lock, binding, plan, qbo_side
