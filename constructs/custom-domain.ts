import { TerraformIterator, Token } from "cdktf";
import { Construct } from "constructs";
import { AcmCertificate } from "@cdktf/provider-aws/lib/acm-certificate";
import { AcmCertificateValidation } from "@cdktf/provider-aws/lib/acm-certificate-validation";
import { Apigatewayv2ApiMapping } from "@cdktf/provider-aws/lib/apigatewayv2-api-mapping";
import { Apigatewayv2DomainName } from "@cdktf/provider-aws/lib/apigatewayv2-domain-name";
import { Route53Record } from "@cdktf/provider-aws/lib/route53-record";
import type { WebsocketApi } from "./websocket-api";

export interface CustomDomainProps {
  /** The host clients connect to, e.g. `chat.example.com`. */
  readonly domainName: string;
  /** The API whose stage the domain serves. */
  readonly api: WebsocketApi;
  /**
   * Route 53 public hosted zone of `domainName`: the certificate's DNS validation record and the domain's
   * alias record are created there. @default none: create the DNS record yourself (see `target`)
   */
  readonly hostedZoneId?: string;
  /**
   * An ACM certificate for `domainName` in the API's region. @default a certificate issued for
   * `domainName` and validated through `hostedZoneId` (one of the two is required)
   */
  readonly certificateArn?: string;
}

/**
 * A custom domain for a WebSocket API: certificate, regional `aws_apigatewayv2_domain_name`, the mapping
 * of the domain's root to the API's stage, and the alias record. Clients connect to `wss://<domain>`;
 * the functions keep posting to the execute-api endpoint, the only host `@connections` answers on.
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-wss-custom-domain-names.html
 */
export class CustomDomain extends Construct {
  public readonly domainName: Apigatewayv2DomainName;
  /** `wss://` URL clients connect to. */
  public readonly url: string;
  /** Where the domain's DNS record must point: API Gateway's regional host name and its hosted zone. */
  public readonly target: { readonly domainName: string; readonly hostedZoneId: string };

  constructor(scope: Construct, id: string, props: CustomDomainProps) {
    super(scope, id);
    if (!props.hostedZoneId && !props.certificateArn) {
      throw new Error(`CustomDomain "${id}": set hostedZoneId (to issue a certificate) or certificateArn (to use one)`);
    }

    this.domainName = new Apigatewayv2DomainName(this, "domain-name", {
      domainName: props.domainName,
      domainNameConfiguration: {
        certificateArn: props.certificateArn ?? this.issueCertificate(props.domainName, props.hostedZoneId!),
        endpointType: "REGIONAL",
        securityPolicy: "TLS_1_2",
      },
    });
    new Apigatewayv2ApiMapping(this, "mapping", {
      apiId: props.api.api.id,
      domainName: this.domainName.id,
      stage: props.api.stage.id,
    });
    const configuration = this.domainName.domainNameConfiguration;
    this.target = { domainName: configuration.targetDomainName, hostedZoneId: configuration.hostedZoneId };
    if (props.hostedZoneId) {
      new Route53Record(this, "alias", {
        zoneId: props.hostedZoneId,
        name: props.domainName,
        type: "A",
        alias: { name: this.target.domainName, zoneId: this.target.hostedZoneId, evaluateTargetHealth: false },
      });
    }
    this.url = `wss://${props.domainName}`;
  }

  /** An ACM certificate validated through DNS records in the zone; the ARN once it is issued. */
  private issueCertificate(domainName: string, zoneId: string): string {
    const certificate = new AcmCertificate(this, "certificate", {
      domainName,
      validationMethod: "DNS",
      // A replacement must be issued before API Gateway lets go of the old one.
      lifecycle: { createBeforeDestroy: true },
    });
    // Keyed by domain name, which the plan already knows, so for_each works on a first deploy.
    const options = TerraformIterator.fromComplexList(certificate.domainValidationOptions, "domain_name");
    const records = new Route53Record(this, "validation-record", {
      forEach: options,
      zoneId,
      name: options.getString("resource_record_name"),
      type: options.getString("resource_record_type"),
      records: [options.getString("resource_record_value")],
      ttl: 60,
      allowOverwrite: true,
    });
    const validation = new AcmCertificateValidation(this, "validation", {
      certificateArn: certificate.arn,
      validationRecordFqdns: Token.asList(TerraformIterator.fromResources(records).pluckProperty("fqdn")),
    });
    return validation.certificateArn;
  }
}
