/**
 * Who is calling, as established by the verified client certificate only.
 * `environment` is the certificate's pp_environment, or the configured default group.
 */
export interface Caller {
  certname: string;
  environment: string;
  extensions: Record<string, string>;
}
