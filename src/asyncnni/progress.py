"""What `asyncnni run` shows while an experiment runs, and after."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.live import Live
from rich.text import Text

from .experiment import Experiment, ExperimentResult, Progress, TrialSummary
from .protocol import TrialEvent


def progress_line(
    progress: Progress,
    max_trials: int | None,
    configurations: int | None = None,
    max_configurations: int | None = None,
) -> Text:
    """One status line. In multi-phase mode ``configurations`` (handed out so far) goes first,
    beside max_configuration_number; trial jobs count against max_trial_number."""
    done = progress.done
    line = Text()
    if configurations is not None:
        limit = f"/{max_configurations}" if max_configurations else ""
        line.append(f"configurations {configurations}{limit}  ", style="bold")
    line.append(f"trials {done}{f'/{max_trials}' if max_trials else ''} done", style="bold")
    line.append(f"  {progress.running} running  {progress.succeeded} succeeded  ")
    line.append(f"{progress.failed} failed", style="red" if progress.failed else "")
    if progress.early_stopped:
        line.append(f"  {progress.early_stopped} stopped early")
    if progress.waiting_on:
        line.append(f"  {len(progress.waiting_on)} waiting on a parent", style="yellow")
    if progress.best is not None:
        line.append(f"  best {progress.best:.6g}", style="green")
    return line


class ProgressView:
    """A live status line on a terminal; one line per finished trial otherwise (logs, CI)."""

    def __init__(self, experiment: Experiment, console: Console, *, live: bool) -> None:
        self.experiment = experiment
        self.console = console
        self.max_trials = experiment.config.max_trial_number
        self.max_configurations = experiment.config.max_configuration_number
        self._live = (
            Live(get_renderable=self._render, console=console, refresh_per_second=4, transient=True)
            if live and console.is_terminal
            else None
        )
        self._quiet = not live
        experiment.on_trial_end = self._trial_ended

    def _render(self) -> Text:
        return self._line(self.experiment.progress)

    def _line(self, progress: Progress) -> Text:
        return progress_line(
            progress, self.max_trials, self._configurations(), self.max_configurations
        )

    def _configurations(self) -> int | None:
        dispatcher = self.experiment.dispatcher
        if not self.experiment.config.multi_phase or dispatcher is None:
            return None
        return dispatcher.issued

    def _trial_ended(self, trial: TrialSummary) -> None:
        if self._quiet:
            return
        outcome = trial.outcome
        style = {TrialEvent.SUCCEEDED: "green", TrialEvent.FAILED: "red"}.get(
            outcome.event, "yellow"
        )
        text = Text(f"trial {trial.sequence:>4} {trial.trial_job_id} ")
        text.append(outcome.event, style=style)
        if outcome.message:
            text.append(f"  {outcome.message}")
        self.console.print(text)
        if self._live is None:
            self.console.print(self._render())

    def __enter__(self) -> ProgressView:
        if self._live is not None:
            self._live.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._live is not None:
            self._live.stop()

    def summary(self, result: ExperimentResult) -> None:
        style = {"DONE": "green", "STOPPED": "yellow"}.get(result.status, "red")
        self.console.print(
            Text.assemble(
                ("experiment ", ""), (result.experiment_id, "bold"), " ", (result.status, style)
            )
        )
        if result.message:
            self.console.print(f"  {result.message}", highlight=False)
        self.console.print(self._line(result.progress))
        self.console.print(f"  files: {result.folder}", highlight=False)
        self.console.print(
            f"  results: asyncnni export {result.experiment_id} --format csv", highlight=False
        )
