"""The pandas script an analyst would write instead of the project (``first_run_bench.py``'s peer).

    python bench/pandas_peer.py EXPORT_DIR OUT_DIR      # needs: pip install pandas pyarrow jinja2

Reads every export file in EXPORT_DIR (API JSON, CSV in any of the demo's dialects, Parquet; the
campaign and snapshot time from the file name), maps the states with the catalog, drops what the
project quarantines (rows without a contact id or state, exact repeats, contacts listed twice with
different states), and writes to OUT_DIR: snapshot_counts.csv (contacts per state per snapshot),
daily.csv (each campaign's last snapshot of each Prague day: state counts and the furthest-stage
funnel), funnel.csv (the latest day), transitions.csv, stuck.csv and one HTML page per campaign.
Straightforward and vectorised: no chunking, no tricks.
"""

from __future__ import annotations

import sys
from pathlib import Path

try:
    import pandas as pd
except ImportError:
    raise SystemExit("the pandas peer needs pandas: pip install pandas") from None

sys.path.insert(0, str(Path(__file__).resolve().parent))
from peer_common import (
    FILE_NAME,
    STUCK_MINUTES,
    STUCK_STATES,
    TIMEZONE,
    fold,
    render_pages,
    state_mapping,
)

ID_NAMES = {"id", "contact_id", "Contact ID", "ID kontaktu"}
STATE_NAMES = {"state", "State", "Stav"}


def read_file(path: Path) -> pd.DataFrame:
    """One export file as (contact_id, raw_state) text columns."""
    wanted = ID_NAMES | STATE_NAMES
    if path.suffix == ".parquet":
        df = pd.read_parquet(path, columns=["contact_id", "state"])
    elif path.suffix == ".json":
        df = pd.read_json(path, dtype=False)
    else:
        head = path.read_bytes()[:4096]
        sep = ";" if head.split(b"\n")[0].count(b";") else ","
        try:
            head.decode("utf-8")
            encoding = "utf-8-sig"
        except UnicodeDecodeError:
            encoding = "cp1250"
        df = pd.read_csv(
            path,
            sep=sep,
            encoding=encoding,
            usecols=lambda c: c in wanted,
            dtype=str,
            keep_default_na=False,
        )
    cid = next(c for c in df.columns if c in ID_NAMES)
    state = next(c for c in df.columns if c in STATE_NAMES)
    out = pd.DataFrame({"contact_id": df[cid].astype(str), "raw_state": df[state].astype(str)})
    m = FILE_NAME.search(path.name)
    assert m is not None, path
    out["campaign_id"] = m["campaign"]
    out["snapshot_time"] = pd.Timestamp(m["time"], tz="UTC")
    return out


def load(export_dir: Path) -> pd.DataFrame:
    files = sorted(export_dir.glob("campaign-*"))
    df = pd.concat([read_file(p) for p in files], ignore_index=True)
    df = df[(df.contact_id != "") & (df.contact_id != "None") & (df.raw_state != "")]
    keys, ranks, _ = state_mapping()
    raw = df.raw_state.astype("category")
    folded = raw.cat.categories.map(lambda v: keys.get(fold(v), "other"))
    df["state"] = raw.cat.rename_categories(range(len(folded))).map(dict(enumerate(folded)))
    df = df.drop(columns="raw_state").drop_duplicates()
    key = ["campaign_id", "snapshot_time", "contact_id"]
    df = df[~df.duplicated(key, keep=False)]  # a contact twice with different states
    df["rank"] = df.state.map(ranks).astype("int8")
    df = df.sort_values(["campaign_id", "contact_id", "snapshot_time"], ignore_index=True)
    # one integer id per contact of a campaign: the groupbys below use it, not the two texts
    first = (df.contact_id != df.contact_id.shift()) | (df.campaign_id != df.campaign_id.shift())
    df["who"] = first.cumsum()
    df["furthest"] = df.groupby("who")["rank"].cummax()
    df["day"] = df.snapshot_time.dt.tz_convert(TIMEZONE).dt.date
    return df


def daily_counts(df: pd.DataFrame, codes: list[str]) -> pd.DataFrame:
    snaps = df[["campaign_id", "day", "snapshot_time"]].drop_duplicates()
    ends = snaps.groupby(["campaign_id", "day"], as_index=False).snapshot_time.max()
    rows = df.merge(ends, on=["campaign_id", "day", "snapshot_time"])
    counts = pd.crosstab([rows.campaign_id, rows.day], rows.state).reindex(
        columns=codes, fill_value=0
    )
    reached = rows.assign(
        contacts=1,
        reached_sent=rows.furthest >= 1,
        reached_delivered=rows.furthest >= 2,
        reached_read=rows.furthest >= 3,
    )
    sums = reached.groupby(["campaign_id", "day"])[
        ["contacts", "reached_sent", "reached_delivered", "reached_read"]
    ].sum()
    out = counts.join(sums).reset_index()
    return out.merge(ends, on=["campaign_id", "day"])


def transitions(df: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Moves between consecutive snapshots of a contact, and each row's run start."""
    prev = df.groupby("who").state.shift()
    starts = prev.isna() | (prev != df.state)
    run_start = df.snapshot_time.where(starts).groupby(df.who).ffill()
    moves = df[starts & prev.notna()].assign(
        from_state=prev,
        minutes=(df.snapshot_time - run_start.groupby(df.who).shift()).dt.total_seconds().div(60),
    )
    out = (
        moves.groupby(["campaign_id", "day", "from_state", "state"])
        .minutes.agg(contacts="size", median_minutes="median")
        .reset_index()
        .rename(columns={"state": "to_state"})
    )
    return out, df.assign(since=run_start)


def stuck(with_since: pd.DataFrame) -> pd.DataFrame:
    latest = with_since.groupby("campaign_id").snapshot_time.transform("max")
    now = with_since.snapshot_time.max()
    cur = with_since[(with_since.snapshot_time == latest) & with_since.state.isin(STUCK_STATES)]
    minutes = (now - cur.since).dt.total_seconds() / 60
    return cur[minutes > STUCK_MINUTES][["campaign_id", "contact_id", "state", "since"]]


def main(export_dir: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    _, _, codes = state_mapping()
    df = load(export_dir)
    snap = df.groupby(["campaign_id", "snapshot_time", "state"]).size().rename("contacts")
    snap.reset_index().to_csv(out / "snapshot_counts.csv", index=False)
    daily = daily_counts(df, codes)
    daily.to_csv(out / "daily.csv", index=False)
    funnel = daily.sort_values("day").groupby("campaign_id").tail(1)
    funnel.to_csv(out / "funnel.csv", index=False)
    moves, with_since = transitions(df)
    moves.to_csv(out / "transitions.csv", index=False)
    st = stuck(with_since)
    st.to_csv(out / "stuck.csv", index=False)
    pages = {}
    for c, f in funnel.set_index("campaign_id").iterrows():
        states = [{"state": s, "contacts": int(f[s])} for s in codes]
        pages[str(c)] = {
            "funnel": f.to_dict() | {"snapshot_time": f.snapshot_time},
            "states": states,
            "daily": daily[daily.campaign_id == c].to_dict("records"),
            "transitions": moves[moves.campaign_id == c].to_dict("records"),
            "stuck": st[st.campaign_id == c].to_dict("records"),
        }
    render_pages(out, pages)
    print(f"pandas peer: {len(df):,} rows, {len(pages)} pages in {out}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    main(Path(sys.argv[1]), Path(sys.argv[2]))
