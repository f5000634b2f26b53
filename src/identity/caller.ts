/**
 * Who is calling, as established by the verified client certificate only.
 * `environment` is the certificate's pp_environment, or the configured default group.
 */
export interface Caller {
  certname: string;
  environment: string;
  extensions: Record<string, string>;
  /** The certificate's serial and its issuing CA (fingerprint): what a CRL names. */
  certificate?: { serial: string; issuer: string };
}
