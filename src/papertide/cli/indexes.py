"""`papertide export-index` and `import-index`: a new host starts from another host's indexes (issue 14).

Thin calls into search/index_export.py and search/index_import.py, with a bar over the bytes
copied on a terminal. Both hosts must use the same database: the import checks it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from papertide.cli.context import console, fail, invocation
from papertide.cli.progress import bytes_progress
from papertide.domain.errors import PapertideError


def register(app: typer.Typer) -> None:
    """Attach the index copy commands to the top-level app."""
    app.command("export-index")(export_index)
    app.command("import-index")(import_index)


def export_index(
    ctx: typer.Context,
    target: Annotated[
        Path,
        typer.Argument(metavar="TARGET", help="A new folder, or a file ending in .tar, to write the copy to."),
    ],
) -> None:
    """Copy this host's search indexes (at one consistent point) for a new host, while serving goes on."""
    from papertide.search.index_export import open_index_copy, write_index_archive
    from papertide.search.lexical.index import directory_for
    from papertide.search.semantic.searcher import vector_directory_for

    services = invocation(ctx).services()
    data_dir = services.settings.data_dir
    search_dir = (data_dir / "search").resolve()
    if target.resolve().is_relative_to(search_dir):
        raise fail(f"{target} is inside the indexes it copies ({search_dir}): write the copy elsewhere")
    try:
        copying = open_index_copy(services.engine, directory_for(data_dir), vector_directory_for(data_dir))
        with copying as copy, bytes_progress("exporting indexes", copy.total_bytes) as advance:
            manifest = write_index_archive(copy, target, advance)
    except (PapertideError, OSError) as error:
        raise fail(str(error)) from None
    vectors = f"vector snapshot {manifest.snapshot}" if manifest.snapshot else "no vector snapshot (none written yet)"
    console.print(
        f"exported the lexical index (seq {copy.lexical_seq}) and {vectors} to {target} "
        f"({manifest.total_bytes:,} bytes in {len(manifest.files)} files)",
        markup=False,
    )


def import_index(
    ctx: typer.Context,
    source: Annotated[
        Path, typer.Argument(metavar="SOURCE", help="A folder or .tar file written by `papertide export-index`.")
    ],
) -> None:
    """Install search indexes exported by another host of this database (stop papertide here first)."""
    from papertide.search.index_import import archive_size, import_index_archive
    from papertide.search.lexical.index import directory_for
    from papertide.search.semantic.searcher import vector_directory_for
    from papertide.services import index_config

    services = invocation(ctx).services()
    data_dir = services.settings.data_dir
    try:
        with bytes_progress("importing indexes", archive_size(source)) as advance:
            report = import_index_archive(
                source,
                services.engine,
                directory_for(data_dir),
                vector_directory_for(data_dir),
                index_config(services.settings),
                advance,
            )
    except (PapertideError, OSError) as error:
        raise fail(str(error)) from None
    console.print(report.summary(), markup=False, soft_wrap=True)
