from asyncnni import Tuner


class BrokenTuner(Tuner):
    """Generates two configurations, then fails."""

    async def generate_parameters(self, parameter_id, **info):
        if parameter_id >= 2:
            raise ZeroDivisionError("the tuner divided by zero")
        return {"x": float(parameter_id)}


class InitFails(Tuner):
    def __init__(self) -> None:
        raise RuntimeError("no GPU for the tuner")


class SpaceFails(Tuner):
    async def update_search_space(self, search_space):
        raise KeyError("lr")
