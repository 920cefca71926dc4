"""Tasks of the sequence taxonomy, one module each: its registry entries (marked with :func:`zoo.base.entry`),
its data loading and preprocessing, its :class:`zoo.base.Task` subclass with metrics, prediction and serving.

:mod:`zoo.registry` loads these modules and registers what they declare; the shared machinery (fitting, run
directories, evaluation, export, tuning, the command line) reaches a task only through the registry and the
:class:`zoo.base.Task` interface. A task module imports no other task module and nothing above the shared
pieces (no registry, runs, training or tuning): it is the only place that knows its input and output shapes.
"""
