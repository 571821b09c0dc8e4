import { describe, expect, it } from "@effect/vitest"
import { parseStat, postgresTicksOf } from "../lib/processes.ts"

/** How the runner reads CPU time from /proc: the target's, wrk's (reaped children) and PostgreSQL's. */
describe("/proc/<pid>/stat", () => {
  // pid, (comm), state, ppid, pgrp, session, tty, tpgid, flags, minflt, cminflt, majflt, cmajflt,
  // utime, stime, cutime, cstime, …: a command name with a space and ") " inside, as a process may
  // name itself.
  const line = "4242 (post) gres) S 1 4200 4200 0 -1 4194560 812 0 0 0 250 75 3 4 20 0 1 0 1001 225280000 5120\n"

  it("reads the command name up to the last parenthesis, and the fields after it from the state on", () => {
    const { command, fields } = parseStat(line)
    expect(command).toBe("post) gres")
    expect(fields[0]).toBe("S")
    expect(fields[2]).toBe("4200") // process group
    expect(Number(fields[11]) + Number(fields[12])).toBe(325) // utime + stime
    expect(Number(fields[13]) + Number(fields[14])).toBe(7) // cutime + cstime
    expect(fields.at(-1)).toBe("5120") // the trailing newline is not part of the last field
  })

  it("sums the CPU ticks of the postgres processes only, and has none to give without one", () => {
    const stat = (pid: number, command: string, utime: number, stime: number) =>
      parseStat(`${pid} (${command}) S 1 ${pid} ${pid} 0 -1 0 0 0 0 0 ${utime} ${stime} 0 0 20 0 1 0 1 0 0`)
    expect(postgresTicksOf([stat(1, "postgres", 100, 20), stat(2, "node", 500, 50), stat(3, "postgres", 7, 3)])).toBe(130)
    // A database on another machine: no figure rather than a zero.
    expect(postgresTicksOf([stat(2, "node", 500, 50)])).toBeUndefined()
  })
})
