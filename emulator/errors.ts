import type { FieldIssue } from './schemas';

export interface ArmErrorBody {
  error: {
    code: string;
    message: string;
    target?: string;
    details?: Array<{ code: string; target?: string; message: string }>;
  };
}

/** An error rendered in ARM's envelope `{"error":{"code","message",...}}`. */
export class ArmError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly target?: string,
    readonly details?: Array<{ code: string; target?: string; message: string }>,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  body(): ArmErrorBody {
    const error: ArmErrorBody['error'] = { code: this.code, message: this.message };
    if (this.target !== undefined) error.target = this.target;
    if (this.details !== undefined && this.details.length > 0) error.details = this.details;
    return { error };
  }

  /** 400 naming every offending field; the message starts with the first one. */
  static validation(issues: FieldIssue[], code = 'InvalidParameter', status = 400): ArmError {
    const first = issues[0] ?? { path: 'body', message: 'is invalid' };
    const message = issues.map((i) => `${i.path}: ${i.message}`).join('; ');
    return new ArmError(
      status,
      code,
      message,
      first.path,
      issues.map((i) => ({ code, target: i.path, message: `${i.path}: ${i.message}` })),
    );
  }

  static field(path: string, message: string, code = 'InvalidParameter', status = 400): ArmError {
    return new ArmError(status, code, `${path}: ${message}`, path);
  }
}
