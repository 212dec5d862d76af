"""The ``redisaq`` command: run a worker, inspect topics, manage dead letters, enqueue.

    redisaq worker path.to.module:handler --topic T --group G
    redisaq info [TOPIC] [--group G] [--json]
    redisaq dlq list|requeue|purge [IDS...] [--topic T] [--group G]
    redisaq enqueue TOPIC '{"json": "payload"}'

Standard library only (argparse). Errors a user can fix (a handler that does not import,
an unreachable Redis, bad JSON) print one line to stderr and exit 1; usage errors exit 2.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import importlib
import json
import logging
import os
import re
import signal
import sys
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from types import FrameType
from typing import Any, NoReturn, Protocol

import redis
from redis.exceptions import RedisError

from . import (
    Consumer,
    RedisaqError,
    SyncAdmin,
    SyncConsumer,
    SyncDeadLetters,
    SyncProducer,
    TopicInfo,
    __version__,
)
from ._config import dead_letter_stream
from ._types import AsyncCallables

log = logging.getLogger("redisaq.cli")

DEFAULT_URL = "redis://localhost:6379/0"
EXIT_ERROR = 1
EXIT_SECOND_SIGNAL = 130  # what a shell reports for a process ended by Ctrl-C
CONNECT_TIMEOUT = 3.0


class CliError(Exception):
    """A problem the user can fix; main() prints it as one line and exits 1."""


# --- argument parsing -----------------------------------------------------------------------


def _env_url() -> str:
    return os.environ.get("REDISAQ_URL") or os.environ.get("REDIS_URL") or DEFAULT_URL


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--redis-url",
        default=None,
        metavar="URL",
        help=f"Redis to use (default: $REDISAQ_URL, $REDIS_URL or {DEFAULT_URL})",
    )
    common.add_argument(
        "--prefix",
        default=None,
        help="key prefix of the topics (default: $REDISAQ_PREFIX or redisaq)",
    )
    common.add_argument(
        "--log-level",
        default="INFO",
        type=str.upper,
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="log level of the messages written to stderr (default: INFO)",
    )
    dead_letter = argparse.ArgumentParser(add_help=False)
    dead_letter.add_argument(
        "--dead-letter",
        default=None,
        metavar="STREAM",
        help="the dead-letter stream (default: PREFIX:dead_letter)",
    )

    parser = argparse.ArgumentParser(
        prog="redisaq",
        description="Job queue on Redis Streams: run workers, inspect topics, manage dead letters.",
    )
    parser.add_argument("--version", action="version", version=f"redisaq {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    worker = commands.add_parser(
        "worker",
        parents=[common, dead_letter],
        help="consume a topic with a handler function",
        description=(
            "Import HANDLER ('package.module:function') and consume TOPIC with it: an "
            "'async def' handler runs in an asyncio Consumer, a plain one in a SyncConsumer. "
            "The first SIGINT/SIGTERM stops gracefully (in-flight jobs finish and are "
            "acknowledged, partitions are handed over); a second one exits at once."
        ),
    )
    worker.add_argument("handler", metavar="HANDLER", help="'package.module:function'")
    worker.add_argument("--topic", required=True)
    worker.add_argument("--group", default="default", help="consumer group (default: default)")
    worker.add_argument("--consumer-id", default=None, help="default: host-pid-random")
    worker.add_argument(
        "--batch",
        action="store_true",
        help="the handler takes a list of jobs (process_batch) instead of one job",
    )
    worker.add_argument("--batch-size", type=int, default=None, help="jobs per read (default: 10)")
    worker.add_argument("--max-retries", type=int, default=None, help="default: 3")
    worker.add_argument(
        "--retry-backoff", type=float, default=None, metavar="SECONDS", help="default: 0.5"
    )
    worker.add_argument(
        "--heartbeat-interval", type=float, default=None, metavar="SECONDS", help="default: 5"
    )
    worker.add_argument(
        "--heartbeat-ttl", type=float, default=None, metavar="SECONDS", help="default: 10"
    )
    worker.add_argument(
        "--block-timeout", type=float, default=None, metavar="SECONDS", help="default: 1"
    )
    worker.add_argument(
        "--start-from",
        choices=["earliest", "latest"],
        default=None,
        help="where a new group begins (default: earliest)",
    )
    worker.add_argument(
        "--app-dir",
        default=".",
        metavar="DIR",
        help="directory put first on sys.path to import the handler (default: .)",
    )
    worker.set_defaults(run=cmd_worker)

    info = commands.add_parser(
        "info",
        parents=[common, dead_letter],
        help="show topics, partitions, groups, lag and consumers",
        description="Partitions, stream lengths, groups with lag and pending counts, live "
        "consumers with their partitions, and dead-letter counts.",
    )
    info.add_argument("topic", nargs="?", metavar="TOPIC", help="default: every topic")
    info.add_argument("--group", default=None, help="show only this group")
    info.add_argument("--json", action="store_true", help="print JSON instead of tables")
    info.set_defaults(run=cmd_info)

    dlq = commands.add_parser(
        "dlq",
        help="list, requeue or purge dead letters",
        description="Dead letters: list them, put them back on their topic, or delete them.",
    )
    dlq_commands = dlq.add_subparsers(dest="dlq_command", required=True, metavar="ACTION")
    select = argparse.ArgumentParser(add_help=False)
    select.add_argument("--topic", default=None, help="only dead letters of this topic")
    select.add_argument("--group", default=None, help="only dead letters of this group")
    dlq_list = dlq_commands.add_parser(
        "list", parents=[common, dead_letter, select], help="show dead letters, oldest first"
    )
    dlq_list.add_argument("--limit", type=_positive_int, default=None, help="show at most N")
    dlq_list.add_argument("--json", action="store_true", help="print JSON (with tracebacks)")
    dlq_list.set_defaults(run=cmd_dlq_list)
    for name, verb in (
        ("requeue", "put back on their topic, for their group"),
        ("purge", "delete"),
    ):
        action = dlq_commands.add_parser(
            name,
            parents=[common, dead_letter, select],
            help=f"{verb} dead letters",
            description=f"{verb.capitalize()} the dead letters given by id, or every one "
            "matching --topic/--group, or all of them with --all.",
        )
        action.add_argument("ids", nargs="*", metavar="ID", help="dead-letter ids")
        action.add_argument("--all", action="store_true", help="every dead letter")
        action.set_defaults(run=cmd_dlq_requeue if name == "requeue" else cmd_dlq_purge)

    enqueue = commands.add_parser(
        "enqueue",
        parents=[common],
        help="enqueue a JSON payload (for manual tests)",
        description="Enqueue one JSON object, or with '-' one JSON object per line of stdin. "
        "Prints the job ids.",
    )
    enqueue.add_argument("topic", metavar="TOPIC")
    enqueue.add_argument("payload", metavar="PAYLOAD", help="a JSON object, or - for stdin")
    enqueue.add_argument(
        "--partition-key", default=None, help="payload field picking the partition"
    )
    enqueue.add_argument(
        "--partitions", type=int, default=1, help="grow the topic to at least N partitions"
    )
    enqueue.set_defaults(run=cmd_enqueue)
    return parser


# --- shared helpers -------------------------------------------------------------------------


def _safe_url(url: str) -> str:
    """The URL without its password, for messages."""
    return re.sub(r"(://[^:/@]*):[^@/]*@", r"\1:***@", url)


@contextmanager
def _redis_client(url: str) -> Iterator[redis.Redis]:
    """A connected sync client; a clear CliError if Redis cannot be reached."""
    try:
        client = redis.Redis.from_url(
            url, socket_connect_timeout=CONNECT_TIMEOUT, socket_timeout=10.0
        )
    except ValueError as exc:
        raise CliError(f"bad Redis URL {_safe_url(url)!r}: {exc}") from None
    try:
        try:
            client.ping()
        except RedisError as exc:
            raise CliError(f"cannot connect to Redis at {_safe_url(url)}: {exc}") from None
        yield client
    finally:
        client.close()


def _print_table(rows: Sequence[Sequence[object]], indent: str = "  ") -> None:
    """Left-aligned columns; the first row is the header."""
    text = [[str(cell) for cell in row] for row in rows]
    widths = [max(len(row[i]) for row in text) for i in range(len(text[0]))]
    for row in text:
        print(indent + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


# --- worker ---------------------------------------------------------------------------------


def load_handler(path: str, app_dir: str = ".") -> Callable[..., Any]:
    """Import 'package.module:attr' (or 'package.module.attr') and return the callable."""
    module_name, sep, attr = path.partition(":")
    if not sep:
        module_name, _, attr = path.rpartition(".")
    if not module_name or not attr:
        raise CliError(f"handler must look like 'package.module:function', got {path!r}")
    directory = os.path.abspath(app_dir)
    if directory not in sys.path:
        sys.path.insert(0, directory)
    try:
        target: Any = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and (module_name == exc.name or module_name.startswith(exc.name + ".")):
            raise CliError(
                f"cannot import handler {path!r}: no module named {exc.name!r} "
                f"(searched from {directory})"
            ) from None
        raise CliError(
            f"cannot import handler {path!r}: importing {module_name!r} failed: {exc} "
            "(a module it imports is missing: is it installed in this environment?)"
        ) from None
    except Exception as exc:  # the module itself failed while importing
        raise CliError(
            f"cannot import handler {path!r}: importing {module_name!r} raised "
            f"{type(exc).__name__}: {exc}"
        ) from None
    for part in attr.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise CliError(
                f"cannot load handler {path!r}: {module_name!r} has no attribute {attr!r}"
            ) from None
    if not callable(target):
        raise CliError(f"handler {path!r} is not callable (its type is {type(target).__name__})")
    return target  # type: ignore[no-any-return]  # callable() narrowed it


def is_async_handler(handler: Callable[..., Any]) -> bool:
    try:
        AsyncCallables.check(handler, "handler")
    except TypeError:
        return False
    return True


class _Stoppable(Protocol):
    def request_stop(self) -> None: ...


class Stopper:
    """Signal handling of a worker: the first signal stops gracefully, a second exits now.

    Installed with signal.signal (not the event loop's handlers) so that a second signal
    exits even when a handler blocks the event loop.
    """

    def __init__(self) -> None:
        self.consumer: _Stoppable | None = None
        self.loop: asyncio.AbstractEventLoop | None = None  # set while an async worker runs
        self.signals = 0

    def handle(self, signum: int, frame: FrameType | None = None) -> None:
        self.signals += 1
        name = signal.Signals(signum).name
        if self.signals > 1:
            os.write(2, f"redisaq: {name} again: exiting at once\n".encode())
            os._exit(EXIT_SECOND_SIGNAL)
        log.info(
            "%s: stopping: finishing in-flight jobs and handing partitions over "
            "(send it again to exit at once)",
            name,
        )
        consumer, loop = self.consumer, self.loop
        if consumer is None:
            return
        if loop is not None:
            # call_soon_threadsafe also wakes the loop out of its selector.
            loop.call_soon_threadsafe(consumer.request_stop)
        else:
            consumer.request_stop()

    @property
    def stopping(self) -> bool:
        return self.signals > 0

    def install(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self.handle)


async def _consume_async(consumer: Consumer, stopper: Stopper) -> None:
    stopper.loop = asyncio.get_running_loop()
    try:
        if not stopper.stopping:
            await consumer.consume()
    finally:
        stopper.loop = None


def cmd_worker(args: argparse.Namespace) -> int:
    stopper = Stopper()
    stopper.install()
    handler = load_handler(args.handler, args.app_dir)
    flavor_async = is_async_handler(handler)
    settings: dict[str, Any] = {
        "group": args.group,
        "consumer_id": args.consumer_id,
        "redis_url": args.redis_url,
        "prefix": args.prefix,
        "batch_size": args.batch_size,
        "heartbeat_interval": args.heartbeat_interval,
        "heartbeat_ttl": args.heartbeat_ttl,
        "max_retries": args.max_retries,
        "retry_backoff": args.retry_backoff,
        "dead_letter": args.dead_letter,
        "start_from": args.start_from,
        "block_timeout": args.block_timeout,
    }
    # Options not given on the command line keep the library's defaults.
    options = {key: value for key, value in settings.items() if value is not None}
    options["process_batch" if args.batch else "process_job"] = handler
    with _redis_client(args.redis_url):
        pass  # fail fast and clearly when Redis is not there
    try:
        consumer: Consumer | SyncConsumer = (
            Consumer(args.topic, **options) if flavor_async else SyncConsumer(args.topic, **options)
        )
    except (ValueError, TypeError) as exc:
        raise CliError(str(exc)) from None
    stopper.consumer = consumer
    log.info(
        "worker %s: topic %r, group %r, %s handler %s (%s); Ctrl-C to stop",
        consumer.consumer_id,
        args.topic,
        args.group,
        "async" if flavor_async else "sync",
        args.handler,
        "batches" if args.batch else "one job at a time",
    )
    if stopper.stopping:
        return 0
    if isinstance(consumer, Consumer):
        asyncio.run(_consume_async(consumer, stopper))
    else:
        consumer.consume()
    log.info("worker %s stopped cleanly", consumer.consumer_id)
    return 0


# --- info -----------------------------------------------------------------------------------


def _group_totals(group: dict[str, Any]) -> None:
    parts = group["partitions"]
    group["pending"] = sum(p["pending"] for p in parts)
    lags = [p["lag"] for p in parts]
    group["lag"] = None if any(lag is None for lag in lags) else sum(lags)


def topic_report(info: TopicInfo, group: str | None, dead_letters: int) -> dict[str, Any]:
    """The JSON-able form of one topic, as ``redisaq info --json`` prints it."""
    report = dataclasses.asdict(info)
    if group is not None:
        report["groups"] = [g for g in report["groups"] if g["name"] == group]
    report["length"] = sum(p["length"] for p in report["partitions"])
    report["dead_letters"] = dead_letters
    for g in report["groups"]:
        _group_totals(g)
        for m in g["members"]:
            m["expires_in"] = round(m["expires_in"], 3)
            if m["since_heartbeat"] is not None:
                m["since_heartbeat"] = round(m["since_heartbeat"], 3)
    return report


def _print_topic(report: dict[str, Any], only_group: str | None) -> None:
    parts = report["partitions"]
    print(
        f"topic {report['topic']}: {len(parts)} partition(s), {report['length']} entries, "
        f"{report['dead_letters']} dead letter(s)"
    )
    _print_table([("PARTITION", "LENGTH"), *((p["partition"], p["length"]) for p in parts)])
    if not report["groups"]:
        print(f"  no group {only_group!r}" if only_group else "  no groups")
    for g in report["groups"]:
        lag = "?" if g["lag"] is None else g["lag"]
        print(
            f"  group {g['name']}: lag {lag}, pending {g['pending']}, "
            f"{len(g['members'])} live consumer(s)"
        )
        _print_table(
            [
                ("PARTITION", "OWNER", "LAG", "PENDING", "LAST DELIVERED"),
                *(
                    (
                        p["partition"],
                        p["owner"] or "-",
                        "?" if p["lag"] is None else p["lag"],
                        p["pending"],
                        p["last_delivered"],
                    )
                    for p in g["partitions"]
                ),
            ],
            indent="    ",
        )
        if g["members"]:
            _print_table(
                [
                    ("CONSUMER", "PARTITIONS", "LAST HEARTBEAT", "EXPIRES IN"),
                    *(
                        (
                            m["consumer_id"],
                            ",".join(map(str, m["partitions"])) or "-",
                            "?"
                            if m["since_heartbeat"] is None
                            else f"{m['since_heartbeat']:.1f}s ago",
                            f"{m['expires_in']:.1f}s",
                        )
                        for m in g["members"]
                    ),
                ],
                indent="    ",
            )


def cmd_info(args: argparse.Namespace) -> int:
    with _redis_client(args.redis_url) as client:
        admin = SyncAdmin(prefix=args.prefix, redis=client)
        letters = SyncDeadLetters(stream=args.dead_letter, prefix=args.prefix, redis=client)
        known = sorted(admin.topics())
        if args.topic and args.topic not in known:
            raise CliError(
                f"no topic {args.topic!r} under prefix {args.prefix!r} "
                f"(known: {', '.join(known) or 'none'}); check --prefix"
            )
        topics = [args.topic] if args.topic else known
        infos = [admin.info(t) for t in topics]
        total_dead = letters.count()
        # One pass over the dead-letter stream for every topic's count.
        dead = Counter(x.topic for x in letters.list(group=args.group)) if total_dead else {}
        reports = [topic_report(i, args.group, dead.get(i.topic, 0)) for i in infos]
    if args.json:
        document = {
            "prefix": args.prefix,
            "dead_letter": {"stream": args.dead_letter, "count": total_dead},
            "topics": reports,
        }
        print(json.dumps(document, indent=2))
        return 0
    if not reports:
        print(f"no topics under prefix {args.prefix!r}")
    for i, report in enumerate(reports):
        if i:
            print()
        _print_topic(report, args.group)
    print(f"\ndead letters in {args.dead_letter}: {total_dead}")
    return 0


# --- dlq ------------------------------------------------------------------------------------


def _dead_letters(args: argparse.Namespace, client: redis.Redis) -> SyncDeadLetters:
    return SyncDeadLetters(stream=args.dead_letter, prefix=args.prefix, redis=client)


def cmd_dlq_list(args: argparse.Namespace) -> int:
    with _redis_client(args.redis_url) as client:
        letters = _dead_letters(args, client).list(
            topic=args.topic, group=args.group, limit=args.limit
        )
    if args.json:
        records = []
        for letter in letters:
            record = dataclasses.asdict(letter)
            record["payload"] = letter.payload.decode("utf-8", "replace")
            records.append(record)
        print(json.dumps(records, indent=2))
        return 0
    if not letters:
        print(f"no dead letters in {args.dead_letter}")
        return 0
    rows: list[tuple[object, ...]] = [
        ("ID", "TOPIC", "GROUP", "PARTITION", "JOB", "ATTEMPTS", "FAILED AT", "ERROR")
    ]
    for x in letters:
        error = f"{x.error_type}: {x.error}".replace("\n", " ")
        rows.append(
            (
                x.id,
                x.topic,
                x.group,
                x.partition,
                x.job_id,
                x.attempts,
                x.failed_at[:19],
                error[:80],
            )
        )
    _print_table(rows, indent="")
    return 0


def _selection(args: argparse.Namespace) -> list[str] | None:
    if args.ids and args.all:
        raise CliError("give dead-letter ids or --all, not both")
    if not (args.ids or args.all or args.topic or args.group):
        raise CliError(
            f"say which dead letters to {args.dlq_command}: ids, --topic/--group, or --all"
        )
    return list(args.ids) if args.ids else None


def cmd_dlq_requeue(args: argparse.Namespace) -> int:
    ids = _selection(args)
    with _redis_client(args.redis_url) as client:
        job_ids = _dead_letters(args, client).requeue(
            ids, topic=args.topic, group=args.group, all=args.all
        )
    print(f"requeued {len(job_ids)} job(s)")
    for job_id in job_ids:
        print(job_id)
    return 0


def cmd_dlq_purge(args: argparse.Namespace) -> int:
    ids = _selection(args)
    with _redis_client(args.redis_url) as client:
        count = _dead_letters(args, client).purge(
            ids, topic=args.topic, group=args.group, all=args.all
        )
    print(f"purged {count} dead letter(s)")
    return 0


# --- enqueue --------------------------------------------------------------------------------


def _parse_payload(text: str, where: str) -> dict[str, Any]:
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CliError(f"{where} is not valid JSON: {exc}") from None
    except RecursionError:
        raise CliError(f"{where} is nested too deeply to read") from None
    if not isinstance(payload, dict):
        raise CliError(f"{where} must be a JSON object, got {type(payload).__name__}")
    return payload


def cmd_enqueue(args: argparse.Namespace) -> int:
    if args.payload == "-":
        payloads = [
            _parse_payload(line, f"stdin line {n}")
            for n, line in enumerate(sys.stdin, 1)
            if line.strip()
        ]
    else:
        payloads = [_parse_payload(args.payload, "PAYLOAD")]
    with _redis_client(args.redis_url) as client:
        producer = SyncProducer(
            args.topic, redis=client, prefix=args.prefix, partitions=args.partitions
        )
        ids = producer.batch_enqueue(payloads, partition_key=args.partition_key)
    for job_id in ids:
        print(job_id)
    return 0


# --- entry point ----------------------------------------------------------------------------


def _fail(message: str) -> NoReturn:
    print(f"redisaq: error: {message}", file=sys.stderr)
    raise SystemExit(EXIT_ERROR)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.redis_url is None:
        args.redis_url = _env_url()
    if args.prefix is None:
        args.prefix = os.environ.get("REDISAQ_PREFIX") or "redisaq"
    if "dead_letter" in args and args.dead_letter is None:
        args.dead_letter = dead_letter_stream(args.prefix)
    logging.basicConfig(
        stream=sys.stderr,
        level=getattr(logging, args.log_level),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
    )
    run: Callable[[argparse.Namespace], int] = args.run
    try:
        return run(args)
    except CliError as exc:
        _fail(str(exc))
    except (RedisaqError, RedisError) as exc:
        _fail(f"{type(exc).__name__}: {exc}")
    except ValueError as exc:  # an invalid name or setting, refused by the library
        _fail(str(exc))
    except KeyboardInterrupt:  # a Ctrl-C outside the worker's own handling
        return EXIT_SECOND_SIGNAL


if __name__ == "__main__":
    raise SystemExit(main())
