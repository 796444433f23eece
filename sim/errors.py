"""The one error a user's input can cause anywhere in the model: a bad scenario or parameter."""


class ScenarioError(ValueError):
    """A user error in a scenario: the message is one line naming the field and what is allowed.

    Every layer raises it before anything runs, and the command line prints it as one line
    with exit code 2, so a multi-line message is folded here rather than by each caller.
    """

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).splitlines()))
