"""What `asyncnni run` shows while an experiment runs, and after."""

from __future__ import annotations

import json
from types import TracebackType

from rich.console import Console, Group
from rich.live import Live
from rich.text import Text

from .experiment import Experiment, ExperimentResult, Progress, TrialSummary
from .protocol import TrialEvent

RUNNING_SHOWN = 8  # running trials listed under the live status line


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
        self._live = (
            Live(get_renderable=self._render, console=console, refresh_per_second=4, transient=True)
            if live and console.is_terminal
            else None
        )
        self._quiet = not live
        experiment.on_trial_end = self._trial_ended

    def _render(self) -> Group:
        """The status line, then the running trials with their latest intermediate result."""
        experiment = self.experiment
        running = experiment.running_trials()
        latest = experiment.observer.latest
        lines = [self._line(experiment.progress)]
        for trial_job_id in running[:RUNNING_SHOWN]:
            value = latest.get(trial_job_id)
            line = Text(f"  {trial_job_id} running")
            if value is not None:
                line.append(f"  latest {value:.6g}", style="cyan")
            lines.append(line)
        if len(running) > RUNNING_SHOWN:
            lines.append(Text(f"  ... and {len(running) - RUNNING_SHOWN} more running"))
        return Group(*lines)

    def _line(self, progress: Progress) -> Text:
        config = self.experiment.config  # read each time: `asyncnni update` may change it
        return progress_line(
            progress,
            config.max_trial_number,
            self._configurations(),
            config.max_configuration_number,
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
            self.console.print(self._line(self.experiment.progress))

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
        best = result.best
        if best is not None:
            trial = f" (trial {best.trial_job_id})" if best.trial_job_id else ""
            self.console.print(
                Text.assemble(
                    "  best ",
                    (f"{best.value:.6g}", "green"),
                    f"{trial}  ",
                    json.dumps(best.parameters),
                )
            )
        eid = result.experiment_id
        self.console.print(f"  files: {result.folder}", highlight=False)
        self.console.print(f"  trials: asyncnni trials {eid} --sort metric", highlight=False)
        self.console.print(f"  dashboard: asyncnni view {eid}", highlight=False)
        self.console.print(f"  results: asyncnni export {eid} --format csv", highlight=False)
