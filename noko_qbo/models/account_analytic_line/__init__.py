from . import lock, binding, plan
