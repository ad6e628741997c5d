"""``nnkernels fetch NAME``: find or download a data set."""
from pathlib import Path

from nnkernels import datasets
from nnkernels.cli._common import EXIT_OK, CLIError, add_data_options, data_hint

NAMES = datasets.FETCHABLE


def add_parser(sub):
    p = sub.add_parser("fetch", help="find or download a data set",
                       description="Find a data set (or download it into the user cache) "
                                   "and print the folder holding its files.")
    p.add_argument("name", choices=NAMES, help="data set")
    add_data_options(p)
    p.set_defaults(func=run)


def run(args):
    try:
        folder = datasets.fetch(args.name, args.data, download=args.download)
    except datasets.DatasetError as error:
        raise CLIError(data_hint(error, args.download)) from None
    files = sorted(p.name for p in Path(folder).iterdir() if p.is_file()
                   and not p.name.startswith("."))
    print(f"{args.name}: {folder}")
    for name in files:
        print(f"  {name}")
    return EXIT_OK

