"""The bundled demo tenant: Northwind Regional Health, a fictional US hospital system.

Northwind runs four subscriptions. `nw-platform-shared` holds the hub network, the central
security Log Analytics workspace, domain controllers and DNS. `nw-prod-clinical` (PHI) runs the
EHR application servers, an HL7 interface engine, a PACS imaging gateway, the clinical data
warehouse on Azure SQL and a PostgreSQL reporting server. `nw-prod-patient-portal` (PHI) runs the
patient portal on App Service and AKS with Cosmos DB, PostgreSQL, Redis and Service Bus.
`nw-dev-analytics` is the data-science sandbox. Production is mostly hardened, with the handful of
realistic mistakes an auditor finds in real estates (see each area module's docstring); dev is
weaker and holds services outside the HIPAA BAA and resources in Europe. The demo also contains
one collection gap: the site configuration of one dev web app could not be read (403).

Every document has the shape Azure returns (Resource Graph rows, ARM GET bodies, Graph
collections), built from templates derived from Microsoft's example payloads.
"""

from __future__ import annotations

from azaudit.demo.build import build_demo_snapshot
from azaudit.demo.org import COLLECTED_AT, DEMO_NOW

__all__ = ["COLLECTED_AT", "DEMO_NOW", "build_demo_snapshot"]
