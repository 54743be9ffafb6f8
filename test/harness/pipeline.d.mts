// Types of pipeline.mjs.
import type { HarnessRun } from "./logs.mjs";
export const BIN: string;
export interface FalseAlert { line: number; rule: string; severity: number; request: string; ip: string; reasons: string[]; stalled: boolean }
export interface Step { code: number | null; summary: Record<string, unknown> | null; stderr: string }
export interface Evaluation {
  alerts: number;
  true_alerts: number;
  precision: number;
  incidents: number;
  incidents_caught: number;
  by_kind: Record<string, { incidents: number; caught: number; lines: number; alerted_lines: number }>;
  false_alerts_by_rule: Record<string, number>;
}
export interface PipelineResult {
  logger: string;
  train: Step;
  detect: Step;
  evaluation: Evaluation;
  lines: number;
  normalLines: number;
  falseAlerts: number;
  falseDuringStalls: number;
  falsePer5k: number;
  caught: Record<string, { incidents: number; caught: number }>;
  falseSamples: FalseAlert[];
}
export function runCli(args: string[], cwd: string): { code: number | null; out: string; err: string };
export function runPipeline(o: {
  logger: string;
  dir: string;
  trainLog: string;
  testLog: string;
  truth: string;
  lines: number;
  labelled: number;
  stalled?: Set<number>;
  extra?: string[];
}): PipelineResult;
export function runLogger(o: { dir: string; logger: string; train: HarnessRun; test: HarnessRun; extra?: string[] }): PipelineResult;
